"""Injected dependencies of the knowledge base: the served index, the watcher that rebuilds it, and the
article editor."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from core.deps import ServicesDep, SessionsDep, SettingsDep
from core.errors import ApiError
from knowledge.builder import IndexWatcher
from knowledge.editing import Editor
from knowledge.search import KnowledgeBase


def loaded_kb(services: ServicesDep) -> KnowledgeBase | None:
    """The knowledge base, ready or not (None in a service run without one)."""
    return services.find(KnowledgeBase)


LoadedKBDep = Annotated[KnowledgeBase | None, Depends(loaded_kb)]


def get_kb(kb: LoadedKBDep) -> KnowledgeBase:
    if kb is None or not kb.ready:
        raise ApiError(503, "index_not_ready", "知识库正在准备中，请稍后再试。")
    return kb


def get_watcher(services: ServicesDep) -> IndexWatcher | None:
    return services.find(IndexWatcher)


def get_editor(sessions: SessionsDep, settings: SettingsDep) -> Editor:
    return Editor(sessions, settings.loan_params_path.parent)


KBDep = Annotated[KnowledgeBase, Depends(get_kb)]
WatcherDep = Annotated[IndexWatcher | None, Depends(get_watcher)]
EditorDep = Annotated[Editor, Depends(get_editor)]
