"""GET /ops: one self-contained page (no framework, no external files) that polls the ops API.
Data is put in with textContent only, so nothing read from Kafka can become markup. The page and
its API calls ride on the session cookie of the sign-in (/auth/login, shared.auth.browser)."""

REFRESH_SECONDS = 5

OPS_PAGE = """<!doctype html>
<html lang="th">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Songtor · สถานะคิว / Queues</title>
<style>
  body { font-family: "Noto Sans Thai", "Loma", "Garuda", sans-serif; margin: 1.5rem; color: #1d2733; background: #f6f7f9; }
  h1 { font-size: 1.4rem; margin: 0 0 .2rem; }
  h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
  .en { color: #5b6776; font-weight: normal; }
  .meta { color: #5b6776; font-size: .85rem; }
  table { border-collapse: collapse; background: #fff; min-width: 40rem; box-shadow: 0 1px 2px #0001; }
  th, td { padding: .35rem .7rem; border-bottom: 1px solid #e3e6ea; text-align: left; }
  th { background: #eef1f5; font-size: .85rem; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  tr.behind td { background: #fff4e0; }
  tr.failing td.dead, td.bad { color: #b3261e; font-weight: bold; }
  .grid { display: flex; flex-wrap: wrap; gap: 0 2.5rem; }
  .grid table { min-width: 26rem; }
  #status.error { color: #b3261e; }
</style>
</head>
<body>
<h1>สถานะคิวส่งต่อ <span class="en">/ Songtor referral queues</span></h1>
<div class="meta">ข้อมูล ณ <span class="en">as of</span> <span id="as-of">–</span> ·
  ปรับทุก <span id="refresh">__REFRESH__</span> วินาที <span class="en">(refreshes every __REFRESH__ s)</span> ·
  <span id="status">กำลังโหลด / loading</span></div>

<h2>หน่วยงาน <span class="en">/ Agencies</span></h2>
<table id="agencies">
  <thead><tr>
    <th>หน่วยงาน<br><span class="en">Agency</span></th>
    <th>ค้างในคิว<br><span class="en">Waiting (lag)</span></th>
    <th>รอนานสุด<br><span class="en">Oldest waiting</span></th>
    <th>รับเข้า/นาที<br><span class="en">Taken in / min</span></th>
    <th>ข้อความล้มเหลว<br><span class="en">Dead letters</span></th>
    <th>เกินกำหนด<br><span class="en">Overdue</span></th>
  </tr></thead>
  <tbody></tbody>
</table>

<div class="grid">
<div>
<h2>รับเรื่องวันนี้ตามจังหวัด <span class="en">/ Today's intakes by province</span></h2>
<div class="meta">วันที่ <span class="en">date</span> <span id="today-date">–</span> ·
  รวม <span class="en">total</span> <span id="today-total">–</span></div>
<table id="today">
  <thead><tr><th>จังหวัด <span class="en">Province</span></th><th>รับเรื่อง <span class="en">Intakes</span></th></tr></thead>
  <tbody></tbody>
</table>
</div>
<div>
<h2>ข้อความล้มเหลวตามหัวข้อ <span class="en">/ Dead letters by topic</span></h2>
<table id="dead-letters">
  <thead><tr><th>หัวข้อ <span class="en">Topic</span></th><th>รอแก้ไข <span class="en">Waiting</span></th></tr></thead>
  <tbody></tbody>
</table>
</div>
</div>

<h2>ส่งข้อมูลระบบ บสต. <span class="en">/ National feed (บสต.)</span></h2>
<table id="national-feed">
  <thead><tr><th>สถานะ <span class="en">State</span></th><th>รอส่ง <span class="en">Pending</span></th>
    <th>ถูกพัก <span class="en">Parked</span></th><th>รอคิวหลังรายการที่พัก <span class="en">Held back</span></th>
    <th>รอนานสุด <span class="en">Oldest unsent</span></th><th>ระบบปลายทาง <span class="en">Receiver</span></th></tr></thead>
  <tbody></tbody>
</table>

<h2>กลุ่มผู้อ่านอื่น ๆ <span class="en">/ Other consumer groups</span></h2>
<table id="groups">
  <thead><tr><th>กลุ่ม <span class="en">Group</span></th><th>หัวข้อ <span class="en">Topics</span></th>
    <th>ค้าง <span class="en">Lag</span></th></tr></thead>
  <tbody></tbody>
</table>

<script>
"use strict";
function age(seconds) {
  if (!seconds) return "0";
  const s = Math.round(seconds), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60);
  if (d) return d + " วัน " + h + " ชม. (" + d + "d " + h + "h)";
  if (h) return h + " ชม. " + m + " นาที (" + h + "h " + m + "m)";
  if (m) return m + " นาที " + (s % 60) + " วิ. (" + m + "m " + (s % 60) + "s)";
  return s + " วินาที (" + s + "s)";
}
function row(cells, attrs) {
  const tr = document.createElement("tr");
  for (const [name, value] of Object.entries(attrs || {})) tr.setAttribute(name, value);
  for (const [text, cls] of cells) {
    const td = document.createElement("td");
    td.textContent = String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
  }
  return tr;
}
function fill(id, rows) { document.querySelector("#" + id + " tbody").replaceChildren(...rows); }
async function json(url) {
  // Same-origin fetch sends the session cookie the sign-in set (the API's GETs accept it).
  const answer = await fetch(url, {cache: "no-store", credentials: "same-origin"});
  if (answer.status === 401) {  // the session's token expired: the issuer signs the browser back in
    location.assign("/auth/login?next=" + encodeURIComponent(location.pathname));
    throw new Error("signing in again / กำลังเข้าสู่ระบบใหม่");
  }
  if (!answer.ok) throw new Error(url + " " + answer.status);
  return answer.json();
}
async function refresh() {
  const status = document.getElementById("status");
  try {
    const [queues, today, feed] = await Promise.all([json("/v1/ops/queues"), json("/v1/ops/today"),
                                                     json("/v1/national-feed")]);
    const oldest = feed.oldest_unsent_at ? (Date.now() - Date.parse(feed.oldest_unsent_at)) / 1000 : 0;
    const circuit = feed.circuit ? feed.circuit.state : "–";
    fill("national-feed", [row([
      [feed.enabled ? "เปิด / on" : "ปิด / off"], [feed.by_state.pending, "num"],
      [feed.by_state.parked, feed.by_state.parked > 0 ? "num bad" : "num"], [feed.held_back, "num"],
      [age(oldest), "num"],
      [circuit === "closed" ? "ปกติ / ok" : circuit === "–" ? "–" : "ขัดข้อง / " + circuit, circuit === "open" ? "bad" : ""],
    ], {"data-feed": feed.enabled ? "on" : "off"})]);
    fill("agencies", queues.agencies.map(a => {
      const tr = row([
        [a.name_th + " / " + a.name_en], [a.lag, "num lag"], [age(a.oldest_waiting_seconds), "num oldest"],
        [a.rate_per_minute, "num rate"], [a.dead_letters, "num dead"], [a.overdue, "num overdue"],
      ], {"data-agency": a.agency});
      if (a.lag > 0) tr.classList.add("behind");
      if (a.dead_letters > 0) tr.classList.add("failing");
      return tr;
    }));
    const groups = new Map();  // one row per group: its lag summed over the topics it reads
    for (const g of queues.groups) {
      const seen = groups.get(g.consumer_group) || {topics: [], lag: 0};
      seen.topics.push(g.topic);
      seen.lag += g.lag;
      groups.set(g.consumer_group, seen);
    }
    fill("groups", [...groups].map(([name, g]) => row(
      [[name], [g.topics.length === 1 ? g.topics[0] : g.topics.length + " หัวข้อ / topics"],
       [g.lag, g.lag > 0 ? "num bad" : "num"]], {"data-group": name})));
    fill("dead-letters", queues.dead_letters.map(d => row(
      [[d.topic], [d.waiting, d.waiting > 0 ? "num bad" : "num"]], {"data-topic": d.topic})));
    fill("today", today.provinces.map(p => row(
      [[(p.name_th || p.province) + (p.name_en ? " / " + p.name_en : "")], [p.intakes, "num"]],
      {"data-province": p.province})));
    document.getElementById("today-date").textContent = today.date;
    document.getElementById("today-total").textContent = today.total;
    document.getElementById("as-of").textContent = new Date(queues.as_of).toLocaleString("th-TH");
    status.textContent = queues.scan_error ? "สแกนล่าสุดล้มเหลว / last scan failed: " + queues.scan_error
                                           : "ปกติ / ok";
    status.className = queues.scan_error ? "error" : "";
  } catch (error) {
    status.textContent = "โหลดไม่สำเร็จ / could not load: " + error.message;
    status.className = "error";
  }
}
refresh();
setInterval(refresh, __REFRESH__ * 1000);
</script>
</body>
</html>
""".replace("__REFRESH__", str(REFRESH_SECONDS))
