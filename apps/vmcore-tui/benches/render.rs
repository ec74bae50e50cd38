//! Frame render time of the CPU and memory views with 8192 entries (target: < 2 ms a frame),
//! at 160×48, with the selection in the middle of the list so scrolling logic is exercised.
//! The dump is generated with testgen: 8192 register notes and 8192 PT_LOADs spread over
//! 1 TiB of physical address space (file holes, so it costs no disk).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use vmcore_tui::{Action, App, View, jobs, ui, update};

fn app_8192() -> App {
    let spec = testgen::ElfSpec {
        cpus: (0..8192)
            .map(|n| testgen::CpuSpec::numbered(n, n + 1))
            .collect(),
        qemu_notes: true,
        vmcoreinfo: Some(testgen::sample_vmcoreinfo()),
        loads: testgen::sparse_loads(8192, 0x20_0000, 1 << 40),
        ..testgen::ElfSpec::default()
    };
    let dump = vmcore::Dump::from_bytes(testgen::elf_bytes(&spec)).expect("testgen dump opens");
    let mut app = App::new(dump, "bench.elf");
    jobs::run_pending(&mut app);
    app
}

fn bench(c: &mut Criterion) {
    let mut app = app_8192();
    let mut term = Terminal::new(TestBackend::new(160, 48)).expect("test terminal");
    for (view, select, name) in [
        (View::Cpus, Action::SelectCpu(4096), "cpus_8192_160x48"),
        (
            View::Memory,
            Action::SelectRange(4096),
            "memory_8192_160x48",
        ),
    ] {
        update(&mut app, Action::ShowView(view));
        update(&mut app, select);
        c.bench_function(name, |b| {
            b.iter(|| {
                term.draw(|f| ui::render(f, black_box(&app))).expect("draw");
            });
        });
    }
    // Scrolling: one row down and a redraw per iteration, as holding ↓ does.
    update(&mut app, Action::ShowView(View::Cpus));
    update(&mut app, Action::SelectCpu(0));
    c.bench_function("cpus_8192_scroll_step", |b| {
        b.iter(|| {
            update(&mut app, Action::Down);
            if app.cpus.selected == 8191 {
                update(&mut app, Action::Home);
            }
            term.draw(|f| ui::render(f, &app)).expect("draw");
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
