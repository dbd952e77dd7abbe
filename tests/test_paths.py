from pathlib import Path

from app.paths import app_paths, resources_dir


def test_ossian_home_relocates_every_folder(ossian_home: Path) -> None:
    paths = app_paths().ensure()
    for folder in (paths.config, paths.data, paths.cache, paths.models, paths.logs):
        assert folder.is_dir()
        assert ossian_home in folder.parents
    assert paths.settings_file.parent == paths.config
    assert paths.database_file.parent == paths.data


def test_models_folder_can_move_alone(ossian_home: Path, tmp_path: Path, monkeypatch) -> None:
    assert app_paths(tmp_path / "big-disk").models == tmp_path / "big-disk"
    monkeypatch.setenv("OSSIAN_MODELS_DIR", str(tmp_path / "env"))
    paths = app_paths(tmp_path / "big-disk")
    assert paths.models == tmp_path / "env"  # the environment wins over the settings
    assert ossian_home in paths.config.parents


def test_platform_folders_without_override(monkeypatch) -> None:
    monkeypatch.delenv("OSSIAN_HOME")
    paths = app_paths()
    assert "ossian" in str(paths.config).lower()
    assert paths.models.parent == paths.data


def test_resources_are_found() -> None:
    assert resources_dir().is_dir()
