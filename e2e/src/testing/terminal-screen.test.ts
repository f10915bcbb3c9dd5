import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderScreen } from "./terminal-screen.js";

describe("renderScreen", () => {
  it("shows only the last state of a line redrawn after carriage returns, erased to its end", () => {
    const raw =
      "\r[#.] 1/2  ok 1  blocks: creative 1, analytical 1\x1b[K\r[##] 2/2  ok 2\x1b[K\r\nbatch: done\r\n";
    assert.deepEqual(renderScreen(raw), ["[##] 2/2  ok 2", "batch: done", ""]);
  });

  it("places readline's prompt and echo where the cursor moves put them", () => {
    const raw = "\x1b[1G\x1b[0Jyou> \x1b[6Gwhat is x?\r\n\x1b[1G\x1b[0Jyou> \x1b[6G";
    assert.deepEqual(renderScreen(raw), ["you> what is x?", "you>"]);
  });

  it("ignores a window-title sequence and keeps a line's text when only the cursor moves back", () => {
    assert.deepEqual(renderScreen("\x1b]0;chorus\x07abc\x1b[2Dz"), ["azc"]);
  });
});
