/**
 * {@code clearclip pull}: fetch a CLIP checkpoint or GGUF from the Hugging Face hub (or its cache),
 * convert it into the model store and make it the default model. {@link PullCommand} drives it;
 * {@link HubSettings} (endpoint, token and where each came from, offline mode, timeout) and
 * {@link HubProxies} read the environment as the Hugging Face tools do; {@link HubDownloader} talks to
 * the hub (model API, resolve URLs pinned to one commit, redirects by hand, resume, retries) with
 * {@link HubBody} for each answer's body and {@link HubException} for refusals worded for a person;
 * {@link HubCache} reads huggingface_hub's cache for offline use; {@link GgufChoice} picks one GGUF of a
 * repository.
 *
 * <p>A package of its own because the hub client is a small HTTP client with its own settings, errors
 * and tests (against a local imitation of the hub) that no other command uses. It stands on the root
 * package's {@code ModelStore} (where models go, which is the default), {@code ConversionProgress} and
 * {@code OutputTypes}, shared with convert and quantize; only {@link PullCommand} is public, for
 * {@code Main}'s list of commands.
 */
package dev.clearclip.cli.pull;
