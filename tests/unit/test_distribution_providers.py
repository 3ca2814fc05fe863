"""Which distributions provide an import name: looked up name by name (a substring scan first) or from the
whole table, the same answer."""
from dllmagic.facts.distributions import DistributionIndex


def _dist(site, name, files):
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    for file, text in files.items():
        (info / file).write_text(text)


def _site(tmp_path):
    site = tmp_path / "site-packages"
    _dist(site, "alpha", {"top_level.txt": "alpha\nalpha_extra/sub\n_alpha.cp\n"})
    _dist(site, "beta", {"RECORD": "beta/__init__.py,sha256=x,1\nbeta_mod.py,,\n_beta.cpython-311-x86_64-linux-gnu.so,,\n"
                                   "beta-1.0.dist-info/RECORD,,\n../../bin/beta,,\n__pycache__/x.pyc,,\n"
                                   'win\\beta_win.py,,\n"quoted/x.py",,\nshared.pth,,\n'})
    _dist(site, "gamma", {"RECORD": "gamma/__init__.py,,\nbeta/plugin.py,,\n"})   # a second provider of beta
    egg = site / "delta-2.0.egg-info"
    egg.mkdir()
    (egg / "installed-files.txt").write_text("../delta/__init__.py\n../delta_tool.py\n")
    return site


def test_name_by_name_answers_are_the_tables(tmp_path):
    site = _site(tmp_path)
    table = DistributionIndex([str(site)])
    table._NAMES_BEFORE_TABLE = 0     # the whole table at once
    names = {n for d in table.all() for n in d.top_level()}
    assert {"alpha", "alpha_extra", "_alpha", "beta", "beta_mod", "_beta", "win", "quoted", "gamma",
            "delta", "delta_tool"} <= names
    for name in sorted(names) + ["bet", "alph", "sha256", "nothing", "beta.sub"]:
        one = DistributionIndex([str(site)])
        assert [d.name for d in one.providing(name)] == [d.name for d in table.providing(name)], name
        assert one._top is None
    assert sorted(d.name for d in table.providing("beta")) == ["beta", "gamma"]


def test_the_whole_table_after_a_few_names(tmp_path):
    index = DistributionIndex([str(_site(tmp_path))])
    for name in ("alpha", "beta", "gamma", "delta"):
        assert index.providing(name)
    assert index._top is None
    assert index.providing("beta") and index._top is None      # a name asked before: its answer is kept
    assert [d.name for d in index.providing("delta_tool")] == ["delta"]
    assert index._top is not None
