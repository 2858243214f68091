"""Compatibility names only. The statements now live by noun: studio.db.runs, studio.db.gallery,
studio.db.images, studio.db.settings, the queue's in studio.jobs.store and the trash's in
studio.trash. New code imports from those; this module keeps the names that the gallery and detail
views, the compare page, the password gate, preflight and the UI tests still import from here, and
goes once they import from the modules above."""

from studio.db.gallery import SORTS, GalleryFacets, RunPage, RunQuery
from studio.db.runs import add_run, normalize_tag, update_run
from studio.db.settings import get_setting_value, load_settings, save_settings, set_setting_value

__all__ = [
    "SORTS", "GalleryFacets", "RunPage", "RunQuery", "add_run", "get_setting_value", "load_settings",
    "normalize_tag", "save_settings", "set_setting_value", "update_run",
]
