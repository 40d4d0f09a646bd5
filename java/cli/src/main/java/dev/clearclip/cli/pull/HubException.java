package dev.clearclip.cli.pull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.clearclip.cli.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpHeaders;
import java.util.Optional;

/**
 * An answer of the hub that is not the file: what it means, from the status, the hub's
 * {@code X-Error-Code} ({@code RepoNotFound}, {@code RevisionNotFound}, {@code EntryNotFound},
 * {@code GatedRepo}) and its own message ({@code X-Error-Message}, else the JSON body's
 * {@code "error"}), worded for a person.
 */
final class HubException extends IOException {

    enum Kind {
        REPO_NOT_FOUND, REVISION_NOT_FOUND, ENTRY_NOT_FOUND, GATED, BAD_TOKEN, DENIED, RATE_LIMITED, SERVER, OTHER
    }

    private final Kind kind;
    private final int status;

    private HubException(Kind kind, int status, String message) {
        super(message);
        this.kind = kind;
        this.status = status;
    }

    Kind kind() {
        return kind;
    }

    int status() {
        return status;
    }

    /** Worth another attempt: the hub is busy or failing, not refusing. */
    boolean retryable() {
        return kind == Kind.RATE_LIMITED || kind == Kind.SERVER;
    }

    /**
     * Reads a non-success answer.
     *
     * @param what   "org/name/file" or "org/name" (listing)
     * @param token  where the token came from, if one was sent
     */
    static HubException of(int status, HttpHeaders headers, byte[] body, URI uri, String repo, String revision,
                           String what, Optional<String> token, URI endpoint) {
        String code = headers.firstValue("x-error-code").orElse("");
        String hubMessage = hubMessage(headers, body);
        String said = hubMessage.isEmpty() ? "" : " (the hub says: " + hubMessage + ")";
        String lower = hubMessage.toLowerCase(java.util.Locale.ROOT);
        String noToken = "no token was sent: if the repository is private, log in with `hf auth login` or set HF_TOKEN";
        if (status == 429) {
            return new HubException(Kind.RATE_LIMITED, status, what + ": the hub limits the request rate (HTTP 429)" + said);
        }
        if (code.equals("RepoNotFound") || (status == 401 || status == 404) && lower.startsWith("repository not found")) {
            return new HubException(Kind.REPO_NOT_FOUND, status, repo + ": no such repository on " + endpoint
                    + " (check the id; " + (token.isEmpty() ? noToken : "or the " + token.get() + " has no access to it")
                    + ")" + said);
        }
        if (code.equals("RevisionNotFound")) {
            return new HubException(Kind.REVISION_NOT_FOUND, status, repo + ": no revision '" + revision
                    + "' (a branch, tag or commit of the repository; --revision)" + said);
        }
        if (code.equals("GatedRepo")) {
            String access = endpoint + "/" + repo;
            return new HubException(Kind.GATED, status, repo + ": a gated repository: "
                    + (token.isEmpty() ? "ask for access at " + access + ", then log in with `hf auth login` or set HF_TOKEN"
                    : "the " + token.get() + " has no access yet; ask for it at " + access) + said);
        }
        if (code.equals("EntryNotFound") || status == 404) {
            return new HubException(Kind.ENTRY_NOT_FOUND, status, what + ": not in the repository at revision "
                    + revision + " (HTTP 404 from " + uri + ")" + said);
        }
        if (status == 401 && token.isPresent()) {
            return new HubException(Kind.BAD_TOKEN, status, what + ": the hub refused the " + token.get()
                    + " (HTTP 401; expired or revoked? make a new one at " + endpoint + "/settings/tokens)" + said);
        }
        if (status == 401 || status == 403) {
            return new HubException(Kind.DENIED, status, what + ": access denied (HTTP " + status + "; "
                    + (token.isEmpty() ? noToken : "with the " + token.get()) + ")" + said);
        }
        if (status >= 500) {
            return new HubException(Kind.SERVER, status, what + ": HTTP " + status + " from " + uri + said);
        }
        return new HubException(Kind.OTHER, status, what + ": HTTP " + status + " from " + uri + said);
    }

    /** The hub's own words, on one line and short (never the request's headers). */
    static String hubMessage(HttpHeaders headers, byte[] body) {
        String m = headers.firstValue("x-error-message").orElse("");
        if (m.isBlank() && body != null && body.length > 0 && body[0] == '{') {
            try {
                JsonNode error = Json.MAPPER.readTree(body).path("error");
                m = error.isTextual() ? error.asText() : "";
            } catch (IOException e) {
                m = "";
            }
        }
        m = m.replaceAll("\\p{Cntrl}+", " ").strip();
        return m.length() > 300 ? m.substring(0, 300) + "..." : m;
    }

}
