//! `testgen-elf OUT [--cpus N] [--loads M] [--size BYTES] [--span BYTES] [--pattern]`: write a
//! synthetic ELF vmcore (sparse file unless --pattern), for benchmarks and peer comparisons.

use std::process::ExitCode;

fn num(s: &str) -> Option<u64> {
    let (n, mul) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1u64 << 10),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        'T' | 't' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    n.parse::<u64>().ok()?.checked_mul(mul)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut out = None;
    let (mut cpus, mut loads, mut size, mut span, mut pattern) =
        (1024u64, 8192u64, 2u64 << 20, 1u64 << 40, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = |name: &str| {
            it.next()
                .and_then(|v| num(v))
                .ok_or_else(|| format!("{name} needs a number"))
        };
        let r = match a.as_str() {
            "--cpus" => val("--cpus").map(|v| cpus = v),
            "--loads" => val("--loads").map(|v| loads = v),
            "--size" => val("--size").map(|v| size = v),
            "--span" => val("--span").map(|v| span = v),
            "--pattern" => {
                pattern = true;
                Ok(())
            }
            s if !s.starts_with('-') && out.is_none() => {
                out = Some(s.to_string());
                Ok(())
            }
            s => Err(format!("unknown argument {s}")),
        };
        if let Err(e) = r {
            eprintln!("testgen-elf: {e}");
            return ExitCode::from(2);
        }
    }
    let Some(out) = out else {
        eprintln!(
            "usage: testgen-elf OUT [--cpus N] [--loads M] [--size BYTES] [--span BYTES] [--pattern]"
        );
        return ExitCode::from(2);
    };
    let mut l = testgen::sparse_loads(loads, size, span);
    if pattern {
        for x in &mut l {
            x.fill = testgen::Fill::Pattern;
        }
    }
    let spec = testgen::ElfSpec {
        cpus: (0..cpus as u32)
            .map(|i| testgen::CpuSpec::numbered(i, i))
            .collect(),
        vmcoreinfo: Some(testgen::sample_vmcoreinfo()),
        loads: l,
        ..Default::default()
    };
    match testgen::write_elf_file(&spec, std::path::Path::new(&out)) {
        Ok(n) => {
            println!("{out}: {n} bytes ({cpus} CPUs, {loads} PT_LOADs over {span:#x})");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("testgen-elf: {out}: {e}");
            ExitCode::from(2)
        }
    }
}
