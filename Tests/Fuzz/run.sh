#!/usr/bin/env bash
# Fuzzes the parsers that take bytes from requests and from GitHub with
# libFuzzer (the toolchain's -sanitize=fuzzer, plus AddressSanitizer):
#   json         Shared/JSON (request bodies, GitHub pages, Singer messages)
#   csv          CSVTable and NumberParser (text/csv predictions, training data)
#   datetime     DateTimeText (Singer date-time fields, webhooks)
#   tensorshape  TensorShape (Open Inference Protocol shapes)
# Each target is compiled from the real source files alone (they depend on
# Foundation at most) and run for SECONDS (default 20); a crash stops the
# script with the input that caused it under $FUZZ_DIR/<target>/.
# Usage: Tests/Fuzz/run.sh [SECONDS]        (CI: 15 s each; a longer run: 600)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
seconds=${1:-20}
out=${FUZZ_DIR:-/tmp/conveyor-fuzz}
mkdir -p "$out"
export PATH="/opt/swift/usr/bin:$PATH"

declare -A sources=(
  [json]="Shared/JSON/JSONValue.swift Shared/JSON/JSONParser.swift Shared/JSON/JSONParseError.swift Shared/JSON/JSONKeyOrder.swift Shared/JSON/JSONText.swift Tests/Fuzz/JSONFuzz.swift"
  [csv]="Shared/Learning/CSVTable.swift Shared/Learning/NumberParser.swift Tests/Fuzz/CSVFuzz.swift"
  [datetime]="Services/VCS/Sources/Singer/DateTimeText.swift Tests/Fuzz/DateTimeFuzz.swift"
  [tensorshape]="Shared/JSON/JSONValue.swift Shared/JSON/JSONParser.swift Shared/JSON/JSONParseError.swift Shared/JSON/JSONKeyOrder.swift Shared/JSON/JSONText.swift Services/Serving/Sources/Prediction/TensorShape.swift Tests/Fuzz/TensorShapeFuzz.swift"
)
# Sources that `import JSON` are compiled into a module named JSON, so that import names the module itself.
declare -A modules=([json]=JSON [csv]=FuzzCSV [datetime]=FuzzDateTime [tensorshape]=JSON)
declare -A seeds=(
  [json]='{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP64","data":[1.5,-2e3]}],"s":"\u00e9\n"}'
  [csv]=$'a,b,"c,d"\n1,2.5e3,"x ""y"""\r\n-3,,NA\n'
  [datetime]='2024-05-01T12:00:00.123+02:00'
  [tensorshape]='{"shape":[4294967296,4294967296],"data":[]}'
)
for target in json csv datetime tensorshape; do
  dir="$out/$target"
  mkdir -p "$dir/corpus"
  printf '%s' "${seeds[$target]}" >"$dir/corpus/seed"
  # shellcheck disable=SC2086
  swiftc -O -suppress-warnings -sanitize=fuzzer,address -parse-as-library -module-name "${modules[$target]}" ${sources[$target]} -o "$dir/fuzz"
  echo "== fuzzing $target for ${seconds}s"
  (cd "$dir" && ./fuzz -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 corpus 2>&1 |
    grep -E "^(stat::number_of_executed_units|stat::new_units_added|==[0-9]+==ERROR|SUMMARY)|Done [0-9]+ runs" || true)
  if ls "$dir"/crash-* >/dev/null 2>&1; then
    echo "fuzzing $target found a crash: $(ls "$dir"/crash-*)"; exit 1
  fi
done
echo "fuzzing: no crashes"
