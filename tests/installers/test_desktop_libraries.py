"""The front door's check for the system libraries Qt's window needs (installers/desktop_libraries.py)."""

from __future__ import annotations

from pathlib import Path

from tests.installers import load

ROOT = Path(__file__).resolve().parents[2]
libraries = load("ossian_desktop_libraries_test", ROOT / "installers" / "desktop_libraries.py")


def test_a_fresh_debian_without_xcb_cursor_gets_the_exact_apt_line() -> None:
    """What a new user on Debian 12 saw was Qt's own abort; now it is this, before anything starts."""
    present = {lib.soname for lib in libraries.QT_LIBRARIES} - {"libxcb-cursor.so.0", "libxkbcommon-x11.so.0"}
    problem = libraries.desktop_problem({"DISPLAY": ":0"}, "linux", can_load=present.__contains__,
                                        manager=lambda: "apt")
    assert problem is not None
    assert "libxcb-cursor.so.0, libxkbcommon-x11.so.0" in problem
    assert "sudo apt install libxcb-cursor0 libxkbcommon-x11-0" in problem


def test_each_family_gets_its_own_package_names() -> None:
    missing = [lib for lib in libraries.QT_LIBRARIES if lib.soname == "libxcb-cursor.so.0"]
    assert libraries.install_line(missing, "dnf") == "sudo dnf install xcb-util-cursor"
    assert libraries.install_line(missing, "pacman") == "sudo pacman -S xcb-util-cursor"


def test_nothing_to_say_when_everything_loads_or_no_display_is_used() -> None:
    assert libraries.desktop_problem({}, "linux", can_load=lambda name: True) is None
    assert libraries.desktop_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux",
                                     can_load=lambda name: False) is None
    assert libraries.desktop_problem({}, "darwin", can_load=lambda name: False) is None


def test_the_distribution_is_read_from_os_release(tmp_path: Path) -> None:
    release = tmp_path / "os-release"
    release.write_text('NAME="Fedora Linux"\nID=fedora\n')
    assert libraries.package_manager(lambda name: None, release) == "dnf"
    release.write_text('ID=linuxmint\nID_LIKE="ubuntu debian"\n')
    assert libraries.package_manager(lambda name: None, release) == "apt"
    release.write_text("ID=something\n")
    assert libraries.package_manager(lambda name: "/usr/bin/pacman" if name == "pacman" else None,
                                     release) == "pacman"


def test_the_loader_check_is_real() -> None:
    assert libraries.loadable("libc.so.6")
    assert not libraries.loadable("libossian-does-not-exist.so.9")


def test_every_apt_package_is_one_the_deb_declares() -> None:
    deb = load("ossian_build_deb_test", ROOT / "installers" / "linux" / "build_deb.py")
    assert {lib.apt for lib in libraries.QT_LIBRARIES} <= set(deb.DEPENDS)


def test_the_readme_names_every_package_the_check_may_ask_for() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = readme.split("sudo apt install", 1)[1].split("```", 1)[0]
    assert {lib.apt for lib in libraries.QT_LIBRARIES} <= set(line.replace("\\", " ").split())
