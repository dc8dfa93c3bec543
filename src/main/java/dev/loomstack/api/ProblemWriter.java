package dev.loomstack.api;

import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** Writes a problem document from a servlet filter, where no message converter runs. */
final class ProblemWriter {
    static final String PROBLEM_JSON = "application/problem+json";

    private ProblemWriter() {}

    static void write(HttpServletResponse response, int status, String detail, String instance) throws IOException {
        response.setStatus(status);
        response.setContentType(PROBLEM_JSON);
        response.setCharacterEncoding(StandardCharsets.UTF_8.name());
        String title = switch (status) {
            case 401 -> "Unauthorized";
            case 413 -> "Content Too Large";
            default -> "Error";
        };
        response.getWriter().write("{\"type\":\"about:blank\",\"title\":\"" + title + "\",\"status\":" + status
                + ",\"detail\":\"" + escape(detail) + "\",\"instance\":\"" + escape(instance) + "\"}");
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }
}
