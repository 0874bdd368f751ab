#!/usr/bin/env bash
# Checks that every C++/CUDA source file is formatted as .clang-format says.
# Lists the files that differ and exits 1 if there are any. Fix them with
#   git ls-files '*.cpp' '*.h' '*.cu' | xargs clang-format -i
# CLANG_FORMAT=clang-format-14 picks another binary. The result depends on
# the clang-format version: CI uses Debian's (14).
set -euo pipefail
cd "$(dirname "$0")/.."

CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
if ! command -v "$CLANG_FORMAT" >/dev/null 2>&1; then
  echo "check-format: $CLANG_FORMAT not found (scripts/install-deps.sh installs it)" >&2
  exit 2
fi

# A broken or unsupported .clang-format would make every file "differ".
"$CLANG_FORMAT" --dump-config >/dev/null

mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.cu')
bad=()
for f in "${files[@]}"; do
  if ! "$CLANG_FORMAT" --dry-run --Werror "$f" >/dev/null 2>&1; then
    bad+=("$f")
  fi
done

if [ ${#bad[@]} -ne 0 ]; then
  echo "check-format: ${#bad[@]} of ${#files[@]} files are not formatted ($("$CLANG_FORMAT" --version)):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "check-format: fix with: clang-format -i FILE..." >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted as .clang-format says"
