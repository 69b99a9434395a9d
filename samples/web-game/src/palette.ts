/** One colour per subsystem scope, shared by the scope bars, the memory map and the arena. */
export const SCOPE_COLORS: Readonly<Record<string, string>> = {
  level: "#8d6e63",
  physics: "#42a5f5",
  ai: "#ab47bc",
  gameplay: "#66bb6a",
  render: "#ffa726",
  audio: "#ef5350",
};

/** Pages of memory that belong to no scope: the temp allocators' arenas, allocator metadata, free pages. */
export const FRAME_COLOR = "#26c6da";
export const SCRATCH_COLOR = "#d4e157";
export const OTHER_COLOR = "#9e9e9e";
export const FREE_COLOR = "#2b2f36";
export const UNCARVED_COLOR = "#15181d";

/** The subsystem a scope path belongs to: "root/gameplay/events" -> "gameplay". */
export function subsystemOf(path: string): string {
  const parts = path.split("/");
  return parts.length > 1 ? parts[1]! : parts[0]!;
}

/** Team colours in the arena. */
export const TEAM_COLORS: readonly string[] = ["#4fc3f7", "#ff8a65"];
