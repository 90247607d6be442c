"""Suggestions as you type (JSON), and the admin's page of the product vocabulary."""
from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.forms import EmptyForm
from marketplace.accounts.models import Role
from marketplace.core.text import words
from marketplace.search import queries, services, tasks
from marketplace.search.forms import CATEGORY_CHOICES, LANGUAGE_CHOICES, AddWordForm, NewGroupForm
from marketplace.search.vocabulary import forget as forget_vocabulary
from marketplace.web.access import role_required
from marketplace.web.args import page_arg
from marketplace.web.security import address_limit
from marketplace.web.transaction import transaction

bp = Blueprint("search", __name__)

#: What the suggestion endpoint reads of the query (the search box takes 200 characters).
MAX_SUGGEST_CHARS = 200
#: Answers kept per process: a word typed by many shoppers is looked up once a minute (so a
#: product taken off sale may be suggested for a minute more; searching it finds nothing).
SUGGESTION_SECONDS = 60
MAX_CACHED_SUGGESTIONS = 2000
GROUPS_PER_PAGE = 30
_GROUP_ID = re.compile(r"^[a-z0-9_]{1,60}$")


class _SuggestionCache:
    def __init__(self):
        self.entries: OrderedDict[str, tuple[float, list[str]]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> list[str] | None:
        with self.lock:
            found = self.entries.get(key)
            if found is None or found[0] < time.monotonic():
                return None
            self.entries.move_to_end(key)
            return found[1]

    def put(self, key: str, value: list[str]) -> None:
        with self.lock:
            self.entries[key] = (time.monotonic() + SUGGESTION_SECONDS, value)
            self.entries.move_to_end(key)
            while len(self.entries) > MAX_CACHED_SUGGESTIONS:
                self.entries.popitem(last=False)


_suggestions = _SuggestionCache()


@bp.route("/search/suggest")
@address_limit("SUGGEST_RATE_LIMIT", scope="suggest")
def suggest():
    typed = " ".join(words((request.args.get("q") or "")[:MAX_SUGGEST_CHARS]))
    found = _suggestions.get(typed)
    if found is None:
        found = queries.suggest(typed, current_app.extensions.get(queries.PRODUCT_CHECK))
        _suggestions.put(typed, found)
    response = jsonify(q=typed, suggestions=found)
    response.cache_control.public = True
    response.cache_control.max_age = SUGGESTION_SECONDS
    return response


# --- The admin's vocabulary -------------------------------------------------------------

def _reindex_after_commit(words_changed: list[str], groups: list[str]) -> None:
    forget_vocabulary()  # this process reads the committed rows from now on
    if not tasks.reindex_search.delay(words=words_changed, groups=groups):
        flash(_("The products could not be indexed again now; the hourly check will do it."), "warning")


@bp.route("/admin/vocabulary", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def vocabulary():
    form = NewGroupForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            entries = services.add_group(current_user, {language: getattr(form, language).data
                                                        for language, _label in LANGUAGE_CHOICES},
                                         form.category.data)
            # Read before the commit: the task must not wait behind this session's next read.
            group_id, added = entries[0].group_id, [entry.word for entry in entries]
        if tx.ok:
            _reindex_after_commit(added, [group_id])
            flash(_("The group “%(group)s” is added.", group=group_id), "success")
            return redirect(url_for("search.vocabulary_group", group_id=group_id))
    filter_text = (request.args.get("q") or "")[:100]
    groups = queries.vocabulary_groups(filter_text)
    page = page_arg()
    shown = groups[(page - 1) * GROUPS_PER_PAGE: page * GROUPS_PER_PAGE]
    return render_template("search/vocabulary.html", form=form, groups=shown, q=filter_text, page=page,
                           pages=max(1, -(-len(groups) // GROUPS_PER_PAGE)), total=len(groups),
                           languages=LANGUAGE_CHOICES, categories=dict(CATEGORY_CHOICES))


@bp.route("/admin/vocabulary/<group_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def vocabulary_group(group_id: str):
    if not _GROUP_ID.match(group_id) or group_id not in queries.group_ids():
        abort(404)
    form = AddWordForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            entry = services.add_word(current_user, group_id, form.language.data, form.word.data)
            word, written = entry.word, entry.written  # read before the commit, as above
        if tx.ok:
            _reindex_after_commit([word], [group_id])
            flash(_("“%(word)s” is added; products with this word are found by the group's words.",
                    word=written), "success")
            return redirect(url_for("search.vocabulary_group", group_id=group_id))
    group = next(g for g in queries.vocabulary_groups() if g.id == group_id)
    return render_template("search/vocabulary_group.html", group=group, form=form, remove_form=EmptyForm(),
                           languages=LANGUAGE_CHOICES, categories=dict(CATEGORY_CHOICES))


@bp.route("/admin/vocabulary/words/<int:entry_id>/remove", methods=["POST"])
@role_required(Role.ADMIN)
def remove_vocabulary_word(entry_id: int):
    entry = queries.entry(entry_id)
    if entry is None:
        abort(404)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    group_id, written = entry.group_id, entry.written
    with transaction() as tx:
        word = services.remove_word(current_user, entry)
    if tx.ok:
        _reindex_after_commit([word], [])
        flash(_("“%(word)s” is taken out of the vocabulary.", word=written), "success")
    if group_id in queries.group_ids():
        return redirect(url_for("search.vocabulary_group", group_id=group_id))
    return redirect(url_for("search.vocabulary"))
