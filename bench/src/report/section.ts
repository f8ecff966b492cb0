/** What each benchmark section hands to the report: its Markdown, a headline, and what lameduck missed or lost. */

/** Something the summary must say: a target lameduck missed, or a row where a peer did better. */
export interface Finding {
  kind: 'miss' | 'loss';
  text: string;
  /** A difference smaller than this run's noise: reported, but apart. */
  noise?: boolean;
}

export interface SectionReport {
  /** `## 1. Overhead…` is built from it. */
  title: string;
  /** One sentence for the summary at the top. */
  headline: string;
  markdown: string;
  findings: Finding[];
}

/** Progress lines on the terminal while the benchmark runs. */
export type Progress = (line: string) => void;
