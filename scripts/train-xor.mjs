// The main job's last step: train the generated XOR trainer, printing the falling loss.
import { importTypeScript } from "../dist/cli/load-model.js";

await importTypeScript("examples/train/xor.ts", "training script");
