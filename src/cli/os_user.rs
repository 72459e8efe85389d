//! Who runs the command, for the audit actor `cli:NAME`: `$USER` or
//! `$LOGNAME` when set, else the name of the process's user id from the
//! password database, else `uid:N` (never a bare "unknown").

/// The user running this process.
pub fn name() -> String {
    for var in ["USER", "LOGNAME"] {
        if let Ok(v) = std::env::var(var)
            && plain(&v)
        {
            return v;
        }
    }
    match uid() {
        Some(uid) => std::fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|db| name_of(&db, uid))
            .unwrap_or_else(|| format!("uid:{uid}")),
        None => "unknown".into(),
    }
}

/// A user name fit for an audit actor (no separators, no control text).
fn plain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@$".contains(&b))
}

/// The process's real user id: the owner of its /proc entry (no libc call).
#[cfg(unix)]
fn uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

#[cfg(not(unix))]
fn uid() -> Option<u32> {
    None
}

/// The name of `uid` in passwd(5) text: `name:x:uid:gid:...`.
fn name_of(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id: u32 = fields.nth(1)?.parse().ok()?;
        (id == uid && plain(name)).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests;
