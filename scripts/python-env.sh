# Sourced by the scripts that run Python tools against the service (sim/tests/clients/run.sh,
# tests/openapi/validate.sh): installs the pinned requirements file "$1" into CLIENTS_ENV
# (default target/clients-env) and sets `py` to the Python that has them. A venv if this Python
# can make one; otherwise (Debian without python3-venv) a --target folder on PYTHONPATH.
env_dir="${CLIENTS_ENV:-target/clients-env}"
python="${PYTHON:-python3}"
if [ -x "$env_dir/venv/bin/python" ] || "$python" -m venv "$env_dir/venv" >/dev/null 2>&1; then
  py="$env_dir/venv/bin/python"
  "$py" -m pip install -q --disable-pip-version-check -r "$1"
else
  py="$python"
  "$py" -m pip install -q --disable-pip-version-check --upgrade --target "$env_dir/site" -r "$1"
  export PYTHONPATH="$env_dir/site${PYTHONPATH:+:$PYTHONPATH}"
fi
