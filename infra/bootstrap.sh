#!/usr/bin/env bash
# Create or update the project's virtual environment (.venv) from uv.lock, installing uv
# itself first when it is missing. Idempotent and quick when nothing changed.
set -euo pipefail
project="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$project"
"$project/infra/check_env.sh"

UV_VERSION=0.13.8
if command -v uv >/dev/null 2>&1; then
    uv=uv
elif [[ -x "$project/.cache/uv/bin/uv" ]]; then
    uv="$project/.cache/uv/bin/uv"
else
    echo "bootstrap: installing uv ${UV_VERSION} into .cache/uv (from PyPI)"
    python3 -m venv "$project/.cache/uv"
    "$project/.cache/uv/bin/pip" install --quiet "uv==${UV_VERSION}"
    uv="$project/.cache/uv/bin/uv"
fi
"$uv" sync --frozen --quiet
"$project/infra/build_engine.sh"
