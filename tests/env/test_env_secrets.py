"""A kernelspec's env can hold tokens: no report and no listing ever prints those values."""
import json

from harness import run_cli


def test_kernelspec_env_values_never_printed(tmp_path):
    data = tmp_path / "data"
    spec = data / "kernels" / "with-token"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "With a token", "language": "python",
        "env": {"HF_TOKEN": "hf_s3cr3tVALUE", "OPENAI_API_KEY": "sk-s3cr3tVALUE"}}))
    env = {"JUPYTER_PATH": str(data), "JUPYTER_DATA_DIR": str(data), "HOME": str(tmp_path)}
    for args in (["kernels", "--json"], ["kernels"], ["check", "no_such_module_secret", "--json"],
                 ["check", "json"]):
        proc = run_cli(*args, env=env)
        assert "s3cr3tVALUE" not in proc.stdout + proc.stderr, args
    listing = json.loads(run_cli("kernels", "--json", env=env).stdout)
    assert "with-token" in json.dumps(listing)
