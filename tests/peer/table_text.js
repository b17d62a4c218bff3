// Helpers shared by the scripts that write C++ tables from the peer's answers
// (make_unicode_tables.js, make_regex_tables.js). Not a script itself.

// Sorted code points -> [[first, last], ...] runs of consecutive ones.
function ranges(cps) {
  const out = [];
  for (const c of cps) {
    if (out.length && out[out.length - 1][1] === c - 1) out[out.length - 1][1] = c;
    else out.push([c, c]);
  }
  return out;
}

// A code point as a C++ hex literal, upper case ("0x1F600").
const hex = (c) => "0x" + c.toString(16).toUpperCase();

module.exports = { ranges, hex };
