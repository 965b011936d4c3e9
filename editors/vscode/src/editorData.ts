// Which files are the editor's own data (user settings, keybindings, state, logs) rather
// than the user's code: they can hold other extensions' tokens, so they are never sent to
// switchboard-ls (and from there to a cloud provider), whatever the document selector says.
//
// Pure: no `vscode` import. The extension passes its global storage path, from which the
// user-data folder of this very VS Code (desktop, remote server or code-server) follows.

import * as path from "node:path";

export interface EditorDataInput {
  /** `context.globalStorageUri.fsPath`: `<user-data>/User/globalStorage/<extension id>`. */
  globalStorage?: string;
  homeDir: string;
  env: Record<string, string | undefined>;
  platform?: NodeJS.Platform;
}

/** Product folders of VS Code and its rebuilds, under the platform's config directory. */
const PRODUCTS = ["Code", "Code - Insiders", "Code - OSS", "VSCodium", "Cursor"];

/** Folders whose files are editor data, most specific first. */
export function editorDataRoots(input: EditorDataInput): string[] {
  const platform = input.platform ?? process.platform;
  const p = platform === "win32" ? path.win32 : path.posix;
  const roots: string[] = [];
  if (input.globalStorage) {
    // <user-data>/User/globalStorage/<id> → <user-data>
    const userData = p.dirname(p.dirname(p.dirname(input.globalStorage)));
    roots.push(p.join(userData, "User"), p.join(userData, "Machine"));
  }
  const home = input.homeDir;
  const configDir =
    platform === "win32"
      ? input.env.APPDATA || p.join(home, "AppData", "Roaming")
      : platform === "darwin"
        ? p.join(home, "Library", "Application Support")
        : input.env.XDG_CONFIG_HOME || p.join(home, ".config");
  for (const product of PRODUCTS) roots.push(p.join(configDir, product, "User"));
  roots.push(
    p.join(home, ".vscode-server", "data"),
    p.join(home, ".vscode-remote", "data"),
    p.join(input.env.XDG_DATA_HOME || p.join(home, ".local", "share"), "code-server"),
  );
  return roots;
}

/** True when `file` lies inside one of `roots`. Case-insensitive where the file system is. */
export function isEditorDataFile(file: string, roots: string[], platform: NodeJS.Platform = process.platform): boolean {
  const p = platform === "win32" ? path.win32 : path.posix;
  const fold = platform === "win32" || platform === "darwin" ? (s: string) => s.toLowerCase() : (s: string) => s;
  const target = fold(p.normalize(file));
  return roots.some((root) => {
    const dir = fold(p.normalize(root)).replace(/[\\/]+$/, "");
    return target.startsWith(dir + p.sep);
  });
}
