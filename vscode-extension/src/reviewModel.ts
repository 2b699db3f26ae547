/**
 * The review queue as plain data, and the virtual documents of a review item's diff
 * (current code on the left, proposed code on the right).
 */
import type { ReviewItemData } from "./contract";

export interface ReviewNode {
  itemId: number;
  label: string;
  description: string;
  tooltip: string;
  /** The file the atom lives in, relative to the workspace root ("" when unknown). */
  file: string;
}

/** The URI scheme of the diff editor's two sides. */
export const REVIEW_SCHEME = "devmatrix-review";

export type ReviewSide = "current" | "proposed";

function atomLabel(item: ReviewItemData): { name: string; file: string } {
  if (item.atom) {
    return { name: item.atom.qualified_name, file: item.atom.file };
  }
  return { name: `atom ${item.atom_id}`, file: "" };
}

/** Open items, lowest confidence first (they need a person most). */
export function buildReviewNodes(items: ReviewItemData[]): ReviewNode[] {
  return items
    .filter((item) => item.status === "open")
    .sort((a, b) => a.confidence - b.confidence || a.id - b.id)
    .map((item) => {
      const { name, file } = atomLabel(item);
      const tooltip = [
        `${item.atom?.key ?? name} · review ${item.id}`,
        `confidence ${formatConfidence(item.confidence)}`,
        item.reason,
        item.validator_output ? `validator: ${item.validator_output}` : "",
      ]
        .filter(Boolean)
        .join("\n");
      return {
        itemId: item.id,
        label: name,
        description: [file, formatConfidence(item.confidence)].filter(Boolean).join(" · "),
        tooltip,
        file,
      };
    });
}

/** A confidence in [0, 1] as a whole percentage. */
export function formatConfidence(confidence: number): string {
  return `${Math.round(confidence * 100)}%`;
}

/** The path part of a diff side's URI: `/<itemId>/<side>/<file>` (the file keeps the language mode). */
export function reviewPath(itemId: number, side: ReviewSide, file: string): string {
  const name = file === "" ? `atom-${itemId}.py` : file;
  return `/${itemId}/${side}/${name}`;
}

/** Read a diff side's URI path back; undefined when it is not one of ours. */
export function parseReviewPath(uriPath: string): { itemId: number; side: ReviewSide } | undefined {
  const match = /^\/(\d+)\/(current|proposed)\//.exec(uriPath);
  if (!match) {
    return undefined;
  }
  return { itemId: Number(match[1]), side: match[2] as ReviewSide };
}

/** The text of one side: the code before (empty for a new atom) or the proposed code. */
export function sideText(item: ReviewItemData, side: ReviewSide): string {
  return side === "current" ? item.previous_code : item.proposed_code;
}

/** The diff editor's title. */
export function diffTitle(item: ReviewItemData): string {
  const { name } = atomLabel(item);
  return `Review ${name}: current ↔ proposed (${formatConfidence(item.confidence)})`;
}
