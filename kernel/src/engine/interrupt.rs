//! Interrupting a running Rust cell while keeping its state where possible.
//!
//! Order: if a build is running (cargo/rustc started by evcxr), stop the build: the
//! runtime and its variables are untouched. Otherwise send SIGINT to the runtime
//! process; the library's `fit` installs a handler that sets its cancel flag, so
//! training returns at the next batch and the cell completes normally. If the same
//! cell is still running after the grace period, kill the runtime; evcxr restarts
//! it and the worker reports which variables were lost. Linux only (`/proc`).

use super::evcxr_worker::Shared;
use crate::sync::lock;
use std::collections::HashMap;
use std::process::Child;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Runs on its own thread: signal, wait up to `grace`, then kill if needed.
pub fn escalate(shared: &Shared, runtime: &Arc<Mutex<Child>>, cell: u64, grace: Duration) {
    let runtime_pid = lock(runtime).id() as i32;
    let builds = build_processes(std::process::id() as i32, runtime_pid);
    if builds.is_empty() {
        signal(runtime_pid, libc::SIGINT);
    } else {
        // Stopping a build loses nothing: the runtime has not run the cell yet.
        builds.iter().for_each(|&pid| signal(pid, libc::SIGTERM));
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if *lock(&shared.running) != Some(cell) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if *lock(&shared.running) == Some(cell) {
        shared.killed.store(true, Ordering::SeqCst);
        if builds.is_empty() {
            let _ = lock(runtime).kill();
        } else {
            builds.iter().for_each(|&pid| signal(pid, libc::SIGKILL));
        }
    }
}

/// Kills every process this one started, and theirs: the runtime and any build in
/// progress, so a kernel that exits leaves none behind (an orphaned cargo would finish its
/// build, and a runtime would hold its memory until its pipes closed).
pub fn kill_descendants() {
    let me = std::process::id() as i32;
    build_processes(me, me)
        .into_iter()
        .for_each(|pid| signal(pid, libc::SIGKILL));
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) takes plain integers.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Descendants of `kernel` other than the runtime and its own descendants: the
/// cargo and rustc processes of a build in progress.
fn build_processes(kernel: i32, runtime: i32) -> Vec<i32> {
    let parents = parent_map();
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for (&pid, &ppid) in &parents {
        children.entry(ppid).or_default().push(pid);
    }
    let mut found = Vec::new();
    let mut stack: Vec<i32> = children
        .get(&kernel)
        .map(|c| c.iter().copied().filter(|&p| p != runtime).collect())
        .unwrap_or_default();
    while let Some(pid) = stack.pop() {
        found.push(pid);
        if let Some(c) = children.get(&pid) {
            stack.extend(c);
        }
    }
    found
}

/// pid -> parent pid for every process visible in /proc.
fn parent_map() -> HashMap<i32, i32> {
    let mut map = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return map;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) {
            if let Some(ppid) = parse_ppid(&stat) {
                map.insert(pid, ppid);
            }
        }
    }
    map
}

/// The parent pid from a `/proc/PID/stat` line: the field after the state, which
/// follows the command name in parentheses (the name itself may hold spaces or ')').
fn parse_ppid(stat: &str) -> Option<i32> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppid_after_odd_names() {
        assert_eq!(parse_ppid("42 (a b) c) S 7 42 42 0"), Some(7));
        assert_eq!(parse_ppid("1 (init) S 0 1 1"), Some(0));
    }

    #[test]
    fn finds_a_child_process_but_not_the_runtime() {
        let mut a = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let mut b = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let me = std::process::id() as i32;
        let found = build_processes(me, b.id() as i32);
        assert!(found.contains(&(a.id() as i32)), "{found:?}");
        assert!(!found.contains(&(b.id() as i32)));
        let _ = a.kill();
        let _ = b.kill();
        let _ = a.wait();
        let _ = b.wait();
    }
}
