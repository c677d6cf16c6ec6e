//! The idle reader on a real D-Bus bus of the test's own: nothing there,
//! then a monitor answering as GNOME's does with the times the test sets.

use pincer_schedule::IdleReader;
use std::time::Duration;
use xtask::desktop::{IdleMonitor, PrivateBus};

#[test]
fn the_desktops_input_idle_time_is_read_from_the_bus() {
    let bus = PrivateBus::start().expect("a private bus");
    let reader = IdleReader::at_address(bus.address());

    let nobody = reader.read();
    assert_eq!(nobody.idle, None);
    assert_eq!(nobody.detail, "the desktop does not report input idle time");

    let monitor = IdleMonitor::serve(&bus, 20 * 60 * 1000).expect("the fixture monitor");
    let away = reader.read();
    assert_eq!(away.idle, Some(Duration::from_secs(20 * 60)));
    assert_eq!(away.detail, "GNOME's idle monitor");

    // The owner touches the keyboard: the same reader sees it at once.
    monitor.set_idle_ms(1_500);
    assert_eq!(reader.read().idle, Some(Duration::from_millis(1_500)));
}

#[test]
fn without_a_bus_the_idle_time_is_unknown_and_says_why() {
    let reader = IdleReader::at_address("unix:path=/nonexistent/pincer-test-bus");
    let reading = reader.read();
    assert_eq!(reading.idle, None);
    assert!(
        reading.detail.starts_with("no desktop session bus"),
        "{}",
        reading.detail
    );
}
