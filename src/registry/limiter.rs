//! A counting semaphore per registry host, so that `--jobs` requests run at once overall
//! while no single registry gets more than its share.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

/// Requests in flight to one host, and the signal that one finished.
type Slot = Arc<(Mutex<usize>, Condvar)>;

#[derive(Debug)]
pub struct HostLimiter {
    per_host: usize,
    hosts: Mutex<HashMap<String, Slot>>,
}

/// Holds one slot of a host until dropped.
pub struct Permit {
    slot: Slot,
}

impl HostLimiter {
    pub fn new(per_host: usize) -> HostLimiter {
        HostLimiter {
            per_host: per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    pub fn acquire(&self, host: &str) -> Permit {
        let slot = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(hosts.entry(host.to_string()).or_default())
        };
        {
            let (count, freed) = &*slot;
            let mut in_use = count.lock().unwrap_or_else(|p| p.into_inner());
            while *in_use >= self.per_host {
                in_use = freed.wait(in_use).unwrap_or_else(|p| p.into_inner());
            }
            *in_use += 1;
        }
        Permit { slot }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let (count, freed) = &*self.slot;
        let mut in_use = count.lock().unwrap_or_else(|p| p.into_inner());
        *in_use -= 1;
        freed.notify_one();
    }
}
