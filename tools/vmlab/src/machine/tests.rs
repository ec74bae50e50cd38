//! Unit tests of `machine.rs`.

use super::*;

#[test]
fn argv_follows_the_lab_recipe() {
    let sc = Scenario::parse(r#"{"name":"t","steps":[]}"#).unwrap();
    let a = qemu_args(&sc, Path::new("/k"), Path::new("/i"), Path::new("/d"));
    let s = a.join(" ");
    assert!(s.contains("-smp 2,maxcpus=4"), "{s}");
    assert!(s.contains("-m 512M,slots=4,maxmem=2048M"), "{s}");
    assert!(s.contains("-device vmcoreinfo"), "{s}");
    assert!(
        s.contains("qemu64-x86_64-cpu,id=cpu-core3,socket-id=0,core-id=3,thread-id=0"),
        "{s}"
    );
    assert!(s.contains("crashkernel=192M"), "{s}");
    assert!(
        s.contains("file=/d/disk-vdc.raw,format=raw,if=virtio"),
        "{s}"
    );
    assert!(
        s.contains("socket,id=cmd,path=/d/cmd.sock,server=on,wait=off"),
        "{s}"
    );
}
