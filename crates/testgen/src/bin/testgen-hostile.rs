//! `testgen-hostile DIR`: write the hostile inputs of issue #16 (`testgen::hostile::dumps`)
//! into DIR as sparse files, plus the hostile history, and list them. For checking the
//! `vmcore` binary by hand under `prlimit --data=2147483648` and `timeout 20`
//! (docs/FUZZING.md); the tests write the same files themselves.

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: testgen-hostile DIR");
        std::process::exit(2);
    };
    std::fs::create_dir_all(&dir)?;
    for f in testgen::hostile::dumps() {
        let p = dir.join(f.name);
        f.write(&p)?;
        println!(
            "{}\titem {}\t{} bytes\t{}",
            p.display(),
            f.item,
            f.len,
            f.what
        );
    }
    let h = dir.join("history-cpus-666664.jsonl");
    std::fs::write(&h, testgen::hostile::history_with_cpus(666_664))?;
    println!("{}\titem 4\tcpus_present 0-666663", h.display());
    Ok(())
}
