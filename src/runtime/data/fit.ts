// The fitting functions of gradgen/data, and saved transforms back as transforms.

import { GradgenError } from "../../errors.js";
import type { Real } from "../trainer.js";
import { PCAProjection, ZCAWhitening, type PCAOptions } from "./projection.js";
import { MeanCentering, MinMaxScaling, Standardization } from "./scaling.js";
import type { TransformJSON } from "./transform.js";

export const fitCentering = (x: Real, features: number): MeanCentering => MeanCentering.fit(x, features);
export const fitStandardization = (x: Real, features: number): Standardization => Standardization.fit(x, features);
export const fitMinMax = (x: Real, features: number, options?: { range?: readonly [number, number] }): MinMaxScaling =>
  MinMaxScaling.fit(x, features, options);
export const fitPCA = (x: Real, features: number, options?: PCAOptions): PCAProjection =>
  PCAProjection.fit(x, features, options);
export const fitZCA = (x: Real, features: number, options?: { epsilon?: number }): ZCAWhitening =>
  ZCAWhitening.fit(x, features, options);

/** A saved transform (its toJSON(), or that as a JSON string) back as a transform. */
export function transformFromJSON(
  json: TransformJSON | string,
): MeanCentering | Standardization | MinMaxScaling | PCAProjection | ZCAWhitening {
  const parsed: TransformJSON = typeof json === "string" ? JSON.parse(json) : json;
  switch (parsed?.kind) {
    case "center":
      return MeanCentering.fromJSON(parsed);
    case "standardize":
      return Standardization.fromJSON(parsed);
    case "minmax":
      return MinMaxScaling.fromJSON(parsed);
    case "pca":
      return PCAProjection.fromJSON(parsed);
    case "zca":
      return ZCAWhitening.fromJSON(parsed);
    default:
      throw new GradgenError(
        `Unknown saved transform kind ${JSON.stringify((parsed as { kind?: unknown })?.kind)}; expected center, standardize, minmax, pca or zca.`,
      );
  }
}
