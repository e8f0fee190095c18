//! The `/proc` readers of the soak and the bench: a process's RSS and peak RSS (`VmRSS`,
//! `VmHWM` of `/proc/<pid>/status`), and the machine's CPU model and memory (`/proc/cpuinfo`,
//! `/proc/meminfo`). Each answers 0 or `None` where that is unavailable (not Linux, or the
//! process is gone).

/// `VmRSS` of a process, KiB.
#[must_use]
pub fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS")
}

/// `VmHWM` of a process (its peak RSS so far), KiB.
#[must_use]
pub fn peak_rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmHWM")
}

/// A KiB field of `/proc/<pid>/status`, e.g. `VmRSS` or `VmHWM`.
#[must_use]
pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| kib_field(&status, field))
        .unwrap_or(0)
}

/// `MemTotal` of `/proc/meminfo`, KiB.
#[must_use]
pub fn mem_total_kib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|meminfo| kib_field(&meminfo, "MemTotal"))
        .unwrap_or(0)
}

/// The first `model name` of `/proc/cpuinfo`.
#[must_use]
pub fn cpu_model() -> Option<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    cpu_model_in(&cpuinfo)
}

/// The number of a `Field:   1234 kB` line (`/proc/<pid>/status`, `/proc/meminfo`).
fn kib_field(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The value of the first `model name\t: …` line.
fn cpu_model_in(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_by_exact_name() {
        let status = "Name:\tsoak\nVmHWM:\t   12345 kB\nVmRSS:\t    2048 kB\nVmRSSx:\t1 kB\n";
        assert_eq!(kib_field(status, "VmRSS"), Some(2048));
        assert_eq!(kib_field(status, "VmHWM"), Some(12345));
        assert_eq!(kib_field(status, "VmSwap"), None);
        assert_eq!(kib_field("VmRSS:\tlots kB\n", "VmRSS"), None);
        let meminfo = "MemTotal:       16318520 kB\nMemFree:         1234 kB\n";
        assert_eq!(kib_field(meminfo, "MemTotal"), Some(16_318_520));
        let cpuinfo = "processor\t: 0\nmodel name\t: Example CPU @ 3.00GHz\nmodel name\t: other\n";
        assert_eq!(
            cpu_model_in(cpuinfo).as_deref(),
            Some("Example CPU @ 3.00GHz")
        );
        assert_eq!(cpu_model_in("processor\t: 0\n"), None);
    }

    #[test]
    fn this_process_has_a_resident_set() {
        let me = std::process::id();
        if cfg!(target_os = "linux") {
            assert!(rss_kib(me) > 0);
            assert!(peak_rss_kib(me) > 0);
            // From one read of the status file the peak includes the current size (the kernel
            // computes both at once). Two reads may not agree: the other test threads allocate
            // and free between them, and the kernel's RSS counters are per-CPU approximations.
            let status = std::fs::read_to_string(format!("/proc/{me}/status"));
            let Ok(status) = status else {
                panic!("cannot read this process's status: {status:?}");
            };
            let rss = kib_field(&status, "VmRSS");
            let peak = kib_field(&status, "VmHWM");
            assert!(
                rss.is_some_and(|rss| peak.is_some_and(|peak| peak >= rss)),
                "VmHWM {peak:?} < VmRSS {rss:?}"
            );
            assert!(mem_total_kib() > 0);
        }
        assert_eq!(status_kib(u32::MAX, "VmRSS"), 0, "no such process");
    }
}
