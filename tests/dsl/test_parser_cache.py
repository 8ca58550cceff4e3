"""The built parser is cached on disk only in a private, per-user directory."""

import os

from smartx_engine.dsl import parser


def test_the_cache_lives_in_a_private_user_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = parser._cache_path("grammar text")
    assert path.parent == tmp_path / "smartx-engine"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert path != parser._cache_path("another grammar")  # keyed by grammar and lark version


def test_a_shared_cache_directory_is_not_trusted(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / "smartx-engine").mkdir(mode=0o777)
    os.chmod(tmp_path / "smartx-engine", 0o777)
    assert parser._cache_path("grammar text") is None


def test_the_parser_works_without_a_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "missing" / "file"))
    (tmp_path / "missing").write_text("a file where a directory should be")
    parser.lark_parser.cache_clear()
    try:
        assert parser.parse('policy "p" {\n  lots HIFO\n}\n').policies[0].name.value == "p"
    finally:
        parser.lark_parser.cache_clear()
