"""Output folders: a file given as one, and an earlier run, are one-line errors for every command."""

import pytest

from adamkit import outdir
from adamkit.cli import main
from adamkit.errors import UsageError


@pytest.mark.parametrize("argv", [
    ["race", "--steps", "3", "--out"],
    ["phase", "--steps", "3", "--out"],
    ["train", "--epochs", "1", "--out"],
    ["compare", "--epochs", "1", "--out"],
    ["bench", "--quick", "--out"],
    ["data", "get", "mnist", "--to"],
])
def test_a_file_as_the_output_folder_is_one_line_naming_it(tmp_path, capsys, argv):
    path = tmp_path / "results.txt"
    path.write_text("keep me")
    assert main([*argv, str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{argv[-1]} {path} is a file, not a folder" in err and err.count("\n") == 1
    assert main([*argv, str(path / "sub")]) == 2
    assert f"lies under the file {path}" in capsys.readouterr().err
    assert path.read_text() == "keep me"


def test_prepare_refuses_then_replaces_only_the_runs_own_files(tmp_path):
    (tmp_path / "a.json").write_text("old")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x").write_text("old")
    (tmp_path / "other.txt").write_text("mine")
    with pytest.raises(UsageError, match=r"holds an earlier run \(a.json, sub\); --overwrite"):
        outdir.prepare(tmp_path, ["a.json", "b.png", "sub"])
    assert outdir.check(tmp_path, ["b.png"]) == []
    assert outdir.prepare(tmp_path, ["a.json", "b.png", "sub"], overwrite=True) == tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.txt"]
    assert outdir.prepare(tmp_path / "new" / "deeper", ["a.json"]).is_dir()
