// Where a comparison or map shortcode's query images and dataset are, resolved for the page that holds it: a query
// path next to the post or in the content folder, the dataset by name or folder, both inside the project.
import path from "node:path";
import { resolveRequestedDataset, type DatasetOption } from "../dataset/embeddings-option.ts";
import { PathRefusedError, resolveProjectDir, resolveQueryPath } from "./paths.ts";
import { WordedFailure } from "./shortcode-context.ts";

/** The shortcode call: its post (as Eleventy names it), its name, and the site's content folder. */
export interface PageCall {
  post: string;
  name: string;
  contentDir: string;
}

/** The query images' files; a path refused fails the call with one line naming the post, the shortcode and the path. */
export function resolvePageQueries(queries: readonly string[], call: PageCall, projectRoot: string): string[] {
  const postFile = path.resolve(projectRoot, call.post);
  return queries.map((query) => {
    try {
      return resolveQueryPath(query, postFile, call.contentDir, projectRoot);
    } catch (error) {
      if (error instanceof PathRefusedError) throw new WordedFailure(`${call.post}: ${call.name} "${query}": ${error.message}`, { cause: error });
      throw error;
    }
  });
}

/** The dataset folder a shortcode names (a `datasets` entry or a folder), inside the project. */
export function resolvePageDataset(
  dataset: string,
  options: { dataset: DatasetOption; datasets: Readonly<Record<string, DatasetOption>> },
  projectRoot: string,
): string {
  return resolveRequestedDataset(dataset, options, projectRoot, (dir) => resolveProjectDir(dir, projectRoot, "dataset"));
}
