"""Categorising free-text exit answers, in English and Chinese.

The evidence of the workspace's keyword rules and the default lexicon
(``lexicon``, with negation), of a model trained on the workspace's own labelled
texts (``classifier``: logistic regression over character n-grams, so Chinese
needs no word segmentation, trusted by how many distinct texts it learnt from
and how much of the text it has seen; or, with the embeddings extra, ``embedding``
over sentence vectors; ``kinds`` picks one) and of "I don't know" are mixed
(``pipeline.decide``); the winner's share is calibrated into a confidence, and
text nothing places, or placed with a confidence below the review threshold,
goes to ``other`` and to review. ``pipeline.Categorizer.categorize`` is the
entry point; ``evaluation`` measures it.
"""
