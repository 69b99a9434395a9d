import { definePackageProject } from "../../vitest.shared.js";

// --expose-gc: the leak-detection tests collect containers on purpose (global.gc()).
export default definePackageProject(import.meta.dirname, { execArgv: ["--expose-gc"] });
