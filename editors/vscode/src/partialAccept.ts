// Partial accepts of ghost text (VS Code's "Accept Next Word" / "Accept Next Line",
// Ctrl+Right): VS Code runs an inline item's command only when the whole item is taken,
// and the provider hook for partial accepts is proposed API an extension on the
// marketplace cannot use. So the extension remembers the items it last showed and reads
// the document edit that follows: a single insertion of two or more characters, at the
// item's position, that is a strict prefix of what is left of the item, is a partial
// accept of it (typing inserts one character per edit; a paste of exactly the
// suggestion's next word is the one thing it cannot tell apart). The server counts an id
// once, so a later full accept of the same item is not counted twice.
//
// Pure: no `vscode` import.

export interface ShownItem {
  /** The id in the item's `switchboard.accepted` command. */
  id: string;
  uri: string;
  /** Where the item's text starts (its range's start, or the cursor). */
  line: number;
  character: number;
  text: string;
}

export interface Insertion {
  uri: string;
  line: number;
  character: number;
  /** Characters the edit replaced (0 for a pure insertion). */
  replaced: number;
  text: string;
}

export class PartialAccepts {
  private shown: ShownItem[] = [];

  /** The items of the latest inline completion answer; earlier ones are forgotten. */
  showed(items: ShownItem[]): void {
    this.shown = items.filter((i) => i.id && i.text);
  }

  /** The id a document edit partially accepted, if it did; each id is reported once. */
  edited(change: Insertion): string | undefined {
    if (change.replaced !== 0 || change.text.length < 2) return undefined;
    for (const item of this.shown) {
      if (item.uri !== change.uri || item.line !== change.line) continue;
      // Only a single-line prefix of the item can start mid-line; text before the cursor
      // that the item repeats is skipped by the offset.
      const offset = change.character - item.character;
      if (offset < 0) continue;
      const rest = item.text.slice(offset);
      if (rest.length > change.text.length && rest.startsWith(change.text)) {
        this.shown = this.shown.filter((i) => i.id !== item.id);
        return item.id;
      }
    }
    return undefined;
  }
}
