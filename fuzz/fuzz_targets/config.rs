//! config.yaml as an operator writes it: loading and validating never panic, whatever the YAML.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quay_server::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(cfg) = Config::from_yaml(text) {
        let _ = cfg.validate();
        let _ = cfg.database();
    }
});
