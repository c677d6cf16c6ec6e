//! The readers on fixture data: a fake `/sys/class/power_supply` tree laid
//! out as the kernel does (one folder per supply, one value per file), and
//! windows at fixed clock times.

use chrono::{NaiveTime, TimeZone, Utc};
use pincer_schedule::{PowerReader, TimeWindow};
use std::path::Path;

fn supply(root: &Path, name: &str, fields: &[(&str, &str)]) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (field, value) in fields {
        std::fs::write(dir.join(field), format!("{value}\n")).unwrap();
    }
}

fn laptop(root: &Path, plugged: bool) {
    supply(
        root,
        "AC",
        &[
            ("type", "Mains"),
            ("online", if plugged { "1" } else { "0" }),
        ],
    );
    supply(
        root,
        "BAT0",
        &[
            ("type", "Battery"),
            ("scope", "System"),
            ("status", if plugged { "Charging" } else { "Discharging" }),
            ("capacity", "64"),
        ],
    );
}

#[test]
fn a_laptop_is_on_power_only_while_plugged_in() {
    let root = tempfile::tempdir().unwrap();
    let reader = PowerReader::new(root.path());
    laptop(root.path(), true);
    let state = reader.read();
    assert!(state.external, "{state:?}");
    assert_eq!(state.detail, "AC online");

    laptop(root.path(), false);
    let state = reader.read();
    assert!(!state.external, "{state:?}");
    assert_eq!(state.detail, "on battery (AC offline, BAT0 discharging)");
}

#[test]
fn a_desktop_without_a_battery_counts_as_on_power() {
    let empty = tempfile::tempdir().unwrap();
    assert!(PowerReader::new(empty.path()).read().external);
    assert!(
        PowerReader::new(empty.path().join("missing"))
            .read()
            .external
    );

    // A desktop with a wireless mouse: a device-scope battery is not the
    // machine's.
    let root = tempfile::tempdir().unwrap();
    supply(
        root.path(),
        "hidpp_battery_0",
        &[
            ("type", "Battery"),
            ("scope", "Device"),
            ("status", "Discharging"),
        ],
    );
    let state = PowerReader::new(root.path()).read();
    assert!(state.external, "{state:?}");
}

#[test]
fn a_battery_held_at_a_charge_threshold_is_on_power_and_an_unknown_one_is_not() {
    let root = tempfile::tempdir().unwrap();
    supply(
        root.path(),
        "BAT1",
        &[("type", "Battery"), ("status", "Not charging")],
    );
    assert!(PowerReader::new(root.path()).read().external);

    std::fs::write(root.path().join("BAT1/status"), "Unknown\n").unwrap();
    let state = PowerReader::new(root.path()).read();
    assert!(
        !state.external,
        "training never starts on a guess: {state:?}"
    );

    // A USB-C charger online wins over the battery's own report.
    supply(
        root.path(),
        "ucsi-source-psy-USBC000:001",
        &[("type", "USB"), ("online", "1")],
    );
    assert!(PowerReader::new(root.path()).read().external);
}

fn at(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
}

#[test]
fn windows_contain_their_hours_and_wrap_past_midnight() {
    let night: TimeWindow = "01:00-06:00".parse().unwrap();
    assert_eq!(night, TimeWindow::default());
    assert!(night.contains(at(1, 0)) && night.contains(at(5, 59)));
    assert!(!night.contains(at(6, 0)) && !night.contains(at(0, 59)) && !night.contains(at(13, 0)));

    let late: TimeWindow = "22:30-05:00".parse().unwrap();
    assert!(late.contains(at(23, 0)) && late.contains(at(0, 0)) && late.contains(at(4, 59)));
    assert!(!late.contains(at(5, 0)) && !late.contains(at(22, 29)));

    let always: TimeWindow = "00:00-00:00".parse().unwrap();
    assert!(always.contains(at(12, 34)));
    assert_eq!(late.to_string(), "22:30-05:00");
}

#[test]
fn the_next_opening_is_today_tomorrow_or_now() {
    let night = TimeWindow::default();
    let morning = Utc.with_ymd_and_hms(2026, 11, 21, 9, 15, 0).unwrap();
    assert_eq!(
        night.next_open(&morning),
        Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap()
    );
    let just_after_midnight = Utc.with_ymd_and_hms(2026, 11, 21, 0, 30, 0).unwrap();
    assert_eq!(
        night.next_open(&just_after_midnight),
        Utc.with_ymd_and_hms(2026, 11, 21, 1, 0, 0).unwrap()
    );
    let inside = Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).unwrap();
    assert_eq!(night.next_open(&inside), inside);
}

#[test]
fn a_malformed_window_names_the_format() {
    for bad in ["1-6", "01:00", "25:00-06:00", "tonight"] {
        let error = bad.parse::<TimeWindow>().unwrap_err().to_string();
        assert!(
            error.contains("HH:MM-HH:MM") && error.contains(bad),
            "{error}"
        );
    }
    let json: Result<TimeWindow, _> = serde_json::from_str("\"01:00-06:00\"");
    assert_eq!(json.unwrap(), TimeWindow::default());
}
