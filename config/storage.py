"""Static files storage: hashed, compressed names after ``collectstatic``; plain
names before it (a fresh checkout running without collectstatic still renders
its pages, served by WhiteNoise from the app folders)."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:
            # Not collected yet: serve the file under its own name.
            return name
