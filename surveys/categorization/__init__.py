"""Categorising free-text exit answers, in English and Chinese.

In order: the workspace's keyword rules and the default lexicon (``lexicon``,
with negation), then a classifier trained on the workspace's own labelled texts
(``classifier``: naive Bayes over character n-grams, so Chinese needs no word
segmentation), then ``other`` with low confidence, queued for review.
``pipeline.categorize`` is the entry point.
"""
