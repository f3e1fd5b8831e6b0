use std::process::ExitCode;

fn main() -> ExitCode {
    pinnace::commands::main()
}
