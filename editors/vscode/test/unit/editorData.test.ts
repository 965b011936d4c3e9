import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { editorDataRoots, isEditorDataFile } from "../../src/editorData";

describe("editor data is never sent to the server", () => {
  const linux = { homeDir: "/home/u", env: {}, platform: "linux" as const };

  test("the user-data folder of this VS Code follows from the extension's global storage", () => {
    const roots = editorDataRoots({ ...linux, globalStorage: "/srv/cs/user-data/User/globalStorage/switchboard.switchboard" });
    for (const file of [
      "/srv/cs/user-data/User/settings.json",
      "/srv/cs/user-data/User/keybindings.json",
      "/srv/cs/user-data/Machine/settings.json",
      "/srv/cs/user-data/User/snippets/python.json",
    ]) {
      assert.equal(isEditorDataFile(file, roots, "linux"), true, file);
    }
    assert.equal(isEditorDataFile("/srv/cs/workspace/settings.json", roots, "linux"), false);
    assert.equal(isEditorDataFile("/srv/cs/user-data/Users.py", roots, "linux"), false);
  });

  test("well-known places of desktop VS Code, its rebuilds, remote servers and code-server", () => {
    const roots = editorDataRoots(linux);
    for (const file of [
      "/home/u/.config/Code/User/settings.json",
      "/home/u/.config/VSCodium/User/settings.json",
      "/home/u/.vscode-server/data/Machine/settings.json",
      "/home/u/.local/share/code-server/User/settings.json",
    ]) {
      assert.equal(isEditorDataFile(file, roots, "linux"), true, file);
    }
    assert.equal(isEditorDataFile("/home/u/project/.vscode/settings.json", roots, "linux"), false);
    assert.equal(isEditorDataFile("/home/u/.config/Code/UserNotes.md", roots, "linux"), false);
  });

  test("XDG directories and other platforms", () => {
    const xdg = editorDataRoots({ ...linux, env: { XDG_CONFIG_HOME: "/cfg" } });
    assert.equal(isEditorDataFile("/cfg/Code/User/settings.json", xdg, "linux"), true);
    const mac = editorDataRoots({ homeDir: "/Users/u", env: {}, platform: "darwin" });
    assert.equal(isEditorDataFile("/users/u/library/application support/code/user/settings.json", mac, "darwin"), true);
    const win = editorDataRoots({ homeDir: "C:\\Users\\u", env: { APPDATA: "C:\\Users\\u\\AppData\\Roaming" }, platform: "win32" });
    assert.equal(isEditorDataFile("c:\\users\\u\\appdata\\roaming\\Code\\User\\settings.json", win, "win32"), true);
    assert.equal(isEditorDataFile("C:\\work\\app\\settings.json", win, "win32"), false);
  });
});
