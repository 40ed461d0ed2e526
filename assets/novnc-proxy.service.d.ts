/** Types for `import unit from "./novnc-proxy.service" with { type: "text" }` (Bun: the file's text). TypeScript before 7.1 has no typing for import attributes. */
declare const text: string;
export default text;
