//! The README's test-double examples, run as they are shown: Rust (compiled in here), Python
//! (a pytest fixture, run by pytest) and Java (a JUnit-style program).

use crate::support::clients::{blocking, deps_dir, java, stdout_lines, tests_dir, ClientCommand};

#[path = "../examples/test_double.rs"]
mod test_double;

const WEIR: &str = env!("CARGO_BIN_EXE_weir");

#[tokio::test(flavor = "multi_thread")]
async fn the_python_pytest_example_passes() {
    let output = blocking(|| {
        ClientCommand::new(deps_dir().join("venv/bin/python"))
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(tests_dir().join("examples/test_weir_pytest.py"))
            .env("WEIR_BIN", WEIR)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .run()
    })
    .await;
    let lines = stdout_lines(&output);
    assert!(
        lines.iter().any(|l| l.contains("2 passed")),
        "{}",
        lines.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_java_example_passes() {
    let output = blocking(|| java("WeirTestDoubleExample", &[WEIR])).await;
    assert!(stdout_lines(&output).contains(&"2 passed, 0 failed".to_string()));
}

/// The README shows each example file as it is.
#[test]
fn the_readme_shows_the_examples_as_they_are_run() {
    let readme = std::fs::read_to_string(tests_dir().join("../README.md")).unwrap();
    for file in [
        "examples/test_double.rs",
        "examples/test_weir_pytest.py",
        "java/WeirTestDoubleExample.java",
    ] {
        let text = std::fs::read_to_string(tests_dir().join(file)).unwrap();
        assert!(
            readme.contains(&text),
            "README.md does not show protocol-tests/{file} as it is"
        );
    }
}
