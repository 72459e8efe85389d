use super::name_of;

#[test]
fn the_name_of_a_uid_comes_from_its_passwd_line() {
    let db = "root:x:0:0:root:/root:/bin/bash\n# comment\nops:x:1001:1001::/home/ops:/bin/sh\n";
    assert_eq!(name_of(db, 1001).as_deref(), Some("ops"));
    assert_eq!(name_of(db, 0).as_deref(), Some("root"));
    assert_eq!(name_of(db, 7), None);
}
