"""Backups from the Settings pane's commands, through the control API as
the web UI sends them: a folder the owner picks, a backup taken now and
checked, a restore asked for while serving that happens at the next start;
and a daily backup that fails shown on /health until one succeeds.
"""

import json
import urllib.error
import urllib.request
from pathlib import Path

from conftest import MODEL_DIR, start_server, stop
from test_data_safety import ask, health, messages, pincer
from test_learning import wait_for
from test_train import control


def refused(server, command, args) -> dict:
    """The ControlError a command answers with (it must fail)."""
    try:
        control(server, command, args)
    except urllib.error.HTTPError as error:
        return json.loads(error.read())["error"]
    raise AssertionError(f"{command} {args} was not refused")


def test_a_chosen_folder_a_backup_now_and_a_restore_at_the_next_start(tmp_path):
    elsewhere = tmp_path / "usb-disk" / "pincer"
    server = start_server(tmp_path, MODEL_DIR / "model.gguf")
    try:
        ask(server, "kept by the backup")
        said = refused(server, "set_backup_folder", {"request": {"path": "relative/folder"}})
        assert "full path" in said["message"], said
        view = control(server, "set_backup_folder", {"request": {"path": str(elsewhere)}})
        assert view["folder"] == str(elsewhere) and view["defaultFolder"] is False, view
        view = control(server, "take_backup", {})
        taken = view["backups"][0]
        assert Path(taken["folder"]).parent == elsewhere, taken
        assert (Path(taken["folder"]) / "manifest.json").is_file()
        checked = control(server, "check_backup", {"request": {"id": taken["id"]}})
        assert checked["problem"] is None and checked["auditRecords"] > 0, checked
        ask(server, "after the backup")

        view = control(server, "restore_backup_at_start", {"request": {"id": taken["id"]}})
        assert view["restoreAtStart"] == taken["id"], view
        # Taken back and asked again: only the last word counts.
        assert control(server, "cancel_restore_at_start", {})["restoreAtStart"] is None
        assert control(server, "restore_backup_at_start", {"request": {"id": taken["id"]}})["restoreAtStart"]
        # Nothing is restored under the running server.
        assert messages(server.data_dir) == ["kept by the backup", "after the backup"]
    finally:
        stop(server)

    server = start_server(tmp_path, MODEL_DIR / "model.gguf")
    try:
        assert messages(server.data_dir) == ["kept by the backup"]
        view = control(server, "backups_overview", {})
        assert view["restoreAtStart"] is None, view
        assert view["lastRestoreOk"] is True and taken["id"] in view["lastRestore"], view
        assert health(server)["status"] == "ok"
        ask(server, "after the restore")
    finally:
        stop(server)
    data_dir = tmp_path / "data"
    audit = pincer(data_dir, "audit", "verify")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    listed = pincer(data_dir, "backup", "list")
    assert taken["id"] in listed.stdout, listed.stdout + listed.stderr
    assert list((data_dir / "replaced").iterdir()), "the replaced files are kept aside"
    doctor = pincer(data_dir, "doctor")
    assert "sandbox:          bubblewrap" in doctor.stdout, doctor.stdout


def test_a_failing_daily_backup_shows_on_health_until_a_backup_succeeds(tmp_path):
    chosen = tmp_path / "unplugged"
    server = start_server(tmp_path, MODEL_DIR / "model.gguf")
    try:
        ask(server, "a first conversation")
        control(server, "set_backup_folder", {"request": {"path": str(chosen)}})
    finally:
        stop(server)
    # The chosen folder is gone and something else sits at its path (a disk
    # that was unplugged and a file written where it was mounted).
    chosen.rmdir()
    chosen.write_text("not a folder")

    server = start_server(tmp_path, MODEL_DIR / "model.gguf")
    try:
        wait_for(lambda: health(server)["problems"], "the daily backup's failure on /health", deadline_s=60)
        shown = health(server)
        assert shown["status"] == "degraded" and shown["store"]["state"] == "healthy", shown
        [problem] = shown["problems"]
        assert problem["area"] == "backups" and "the daily backup failed" in problem["message"], problem
        assert str(chosen) in problem["message"], problem
        banner = control(server, "app_health", {})
        assert banner["problems"][0]["message"] == problem["message"], banner

        # Back to the data folder: a backup now succeeds and the problem is over.
        control(server, "set_backup_folder", {"request": {"path": None}})
        view = control(server, "take_backup", {})
        assert Path(view["backups"][0]["folder"]).parent == server.data_dir / "backups", view
        assert health(server)["status"] == "ok" and health(server)["problems"] == []
    finally:
        stop(server)
