#!/usr/bin/env bash
# The whole life of a poll, end to end, against the real binaries (make build): a fresh
# database in a temporary folder, the sample roster, a vote in the Ban Pháp chế's group,
# votes (some changed, one taken by phone, some pasted from Zalo), the poll closed,
# confirmations issued, signed with a THROW-AWAY TEST CA, one tampered copy rejected, one
# paper confirmation that disagrees with the record settled by the Ban's leader, the
# rest signed and submitted, the poll finalized, reconciled and reported.
#
# Usage: internal/demo/demo.sh [DIR]   (make demo)
# Every file is kept under DIR, a new temporary folder by default, printed at the end.
# BIN names the folder of the binaries (default bin/ of this checkout). Needs pdftoppm
# (poppler-utils) for the paper scan.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${BIN:-$root/bin}
work=${1:-$(mktemp -d "${TMPDIR:-/tmp}/bieuquyet-demo.XXXXXX")}
mkdir -p "$work"
work=$(cd "$work" && pwd)
for b in bieuquyet bieuquyet-server bieuquyet-testca; do
  [ -x "$bin/$b" ] || { echo "demo: $bin/$b is missing: run make build" >&2; exit 1; }
done
command -v pdftoppm >/dev/null || { echo "demo: pdftoppm is missing: install poppler-utils" >&2; exit 1; }
export PATH="$bin:$PATH" NO_COLOR=1 BIEUQUYET_TZ=Asia/Ho_Chi_Minh
unset BIEUQUYET_ADDR BIEUQUYET_TOKEN BIEUQUYET_DB BIEUQUYET_LISTEN BIEUQUYET_TRUST_ROOTS
cd "$work"

n=0
# step prints a numbered heading, in Vietnamese and English.
step() {
  n=$((n + 1))
  printf '\n== %d. %s\n' "$n" "$1"
}

# show prints a command as an operator would type it.
show() {
  local out="\$" a
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=+,@%-]+$ ]]; then
      out+=" $a"
    else
      a=${a//\\/\\\\} a=${a//\"/\\\"} a=${a//\$/\\\$} a=${a//\`/\\\`}
      out+=" \"$a\""
    fi
  done
  printf '%s\n' "$out"
}

# say prints a command line as it is written, for those the script runs in its own way.
say() {
  printf '$ %s\n' "$1"
}

# run shows a command, then runs it; the demo stops at the first that fails.
run() {
  show "$@"
  "$@"
}

step "Máy chủ với cơ sở dữ liệu mới / the server, on a fresh database"
mkdir -p trust-roots
say "bieuquyet-server --listen 127.0.0.1:0 --db bieuquyet.db --trust-roots trust-roots 2>server.log &"
bieuquyet-server --listen 127.0.0.1:0 --db "$work/bieuquyet.db" --trust-roots "$work/trust-roots" 2>server.log &
server=$!
stop() {
  kill -INT "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
}
trap stop EXIT
addr=
for _ in $(seq 100); do
  addr=$(grep -o '"msg":"serving","addr":"[^"]*"' server.log | sed 's/.*"addr":"//; s/"$//') || true
  [ -n "$addr" ] && break
  kill -0 "$server" 2>/dev/null || { cat server.log >&2; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { echo "demo: the server did not start" >&2; cat server.log >&2; exit 1; }
export BIEUQUYET_ADDR=$addr
echo "serving on $addr"

step "Mã truy cập của quản trị viên / the first admin's token, made offline"
say 'BIEUQUYET_TOKEN=$(bieuquyet-server token create --role admin --name "Quản trị viên" --db bieuquyet.db) && export BIEUQUYET_TOKEN'
BIEUQUYET_TOKEN=$(bieuquyet-server token create --role admin --name "Quản trị viên" --db "$work/bieuquyet.db" 2>/dev/null)
export BIEUQUYET_TOKEN
run bieuquyet whoami

step "Nhập danh sách đại biểu mẫu / the sample roster"
cp "$root/examples/roster.csv" roster.csv
run bieuquyet roster import roster.csv
run bieuquyet groups get "HĐND - Ban Pháp chế"

step "Mở biểu quyết trong nhóm Ban Pháp chế / a vote in the Ban Pháp chế's group"
run bieuquyet poll open --body "HĐND - Ban Pháp chế" --title "Thẩm tra dự thảo nghị quyết" \
  --question "Đồng ý thông qua báo cáo thẩm tra?" --for 2h --rule majority_of_all

step "Ghi nhận phiếu, có phiếu thay đổi, một phiếu qua điện thoại / votes, some changed, one by phone"
run bieuquyet vote record 1 0900000106 "Tán thành"
run bieuquyet vote record 1 0900000109 "Không tán thành"
run bieuquyet vote record 1 0900000109 "Tán thành"
run bieuquyet vote record 1 0900000126 "Tán thành" --source other --note "Gọi điện lúc 9 giờ, Zalo lỗi"
cat >zalo.txt <<'TEXT'
Tán thành (2)
Vinh Đinh
Huỳnh Văn Toàn
Không tán thành (1)
Kiều Thị Tuyết
Không biểu quyết (1)
Linh Lâm
TEXT
echo "zalo.txt, the Zalo poll's voter list as pasted:"
sed 's/^/    /' zalo.txt
run bieuquyet vote import 1 zalo.txt
run bieuquyet vote record 1 0900000130 "Tán thành"
run bieuquyet vote history 1 0900000109

step "Khóa biểu quyết / close the poll"
run bieuquyet poll close 1
run bieuquyet poll tally 1

step "Phát hành phiếu xác nhận / issue the written confirmations"
run bieuquyet confirm generate 1 --for 72h
run bieuquyet confirm download 1 --dir xac-nhan
ls xac-nhan

step "CA THỬ NGHIỆM, chỉ để trình diễn / a THROW-AWAY TEST CA, for this demonstration only"
echo "Its keys are plain files in test-ca/: never trust its root outside a demonstration."
run bieuquyet-testca init --dir test-ca --roster roster.csv
run cp test-ca/roots/*.pem trust-roots/
mismatch=$(ls xac-nhan/*Kieu-Thi-Tuyet.pdf)
signed=()
for f in xac-nhan/*.pdf; do
  [ "$f" = "$mismatch" ] || signed+=("$f")
done
run bieuquyet-testca sign --dir test-ca --out da-ky "${signed[@]}"

step "Bản bị sửa sau khi ký bị từ chối / a copy changed after signing is rejected"
first=$(basename "${signed[0]}")
run bieuquyet-testca tamper --mode page "da-ky/$first" sua-sau-khi-ky.pdf
say "bieuquyet confirm submit sua-sau-khi-ky.pdf"
if bieuquyet confirm submit sua-sau-khi-ky.pdf; then
  echo "demo: the tampered copy was accepted" >&2
  exit 1
fi
echo "(exit status 1: rejected, as it must be)"

step "Phiếu giấy ghi khác với biểu quyết / a paper confirmation that disagrees"
echo "Kiều Thị Tuyết voted Không tán thành in Zalo, but marked Tán thành on the printed page."
run pdftoppm -png -r 100 -singlefile "$mismatch" scan
show bieuquyet confirm attest scan.png --written "Tán thành"
attest=$(bieuquyet confirm attest scan.png --written "Tán thành")
printf '%s\n' "$attest"
conf=$(sed -n 's/^confirmation: *//p' <<<"$attest")
run bieuquyet confirm list 1 --status mismatch

step "Trưởng Ban giải quyết chênh lệch / the Ban's leader settles the mismatch"
echo "Ngô Thanh Thắng leads the Ban; he gets a person token (its secret is printed last):"
say 'leader=$(bieuquyet token create --role person --person 0900000106 --name "Trưởng Ban Pháp chế" | tail -n 1)'
leader=$(bieuquyet token create --role person --person 0900000106 --name "Trưởng Ban Pháp chế" 2>/dev/null | tail -n 1)
say "BIEUQUYET_TOKEN=\$leader bieuquyet confirm resolve $conf --note \"Đã gọi điện xác nhận: đại biểu chọn Tán thành\""
BIEUQUYET_TOKEN=$leader bieuquyet confirm resolve "$conf" --note "Đã gọi điện xác nhận: đại biểu chọn Tán thành"

step "Nộp tất cả bản đã ký / submit every signed copy in one command"
run bieuquyet confirm submit da-ky/*.pdf

step "Đối chiếu và báo cáo / reconcile and report"
run bieuquyet poll reconcile 1
run bieuquyet poll report 1 -o bao-cao-chinh-thuc.pdf
run bieuquyet audit verify

cat <<EOF

== Các tệp / the files, all under $work
  bieuquyet.db             the database (server log: server.log)
  roster.csv, zalo.txt     the roster imported, the Zalo list pasted
  xac-nhan/                the confirmations issued
  test-ca/                 the THROW-AWAY test CA (trust-roots/ holds its root)
  da-ky/                   the copies signed with it
  sua-sau-khi-ky.pdf       the tampered copy, rejected
  scan.png                 the paper confirmation's scan
  bao-cao-chinh-thuc.pdf   the tally report with the official result
Remove them with: rm -r $work
EOF
