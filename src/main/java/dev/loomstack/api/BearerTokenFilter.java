package dev.loomstack.api;

import dev.loomstack.config.AdminToken;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.web.filter.OncePerRequestFilter;

/** Every {@code /api/v1} call needs {@code Authorization: Bearer <token>} (RFC 6750). */
final class BearerTokenFilter extends OncePerRequestFilter {
    static final String PREFIX = "Bearer ";
    private final AdminToken token;

    BearerTokenFilter(AdminToken token) {
        this.token = token;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String header = request.getHeader("Authorization");
        if (header == null || !header.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
            response.setHeader("WWW-Authenticate", "Bearer realm=\"loomstack\"");
            ProblemWriter.write(response, HttpServletResponse.SC_UNAUTHORIZED,
                    "an Authorization: Bearer token is required", request.getRequestURI());
            return;
        }
        if (!token.matches(header.substring(PREFIX.length()).strip())) {
            response.setHeader("WWW-Authenticate", "Bearer realm=\"loomstack\", error=\"invalid_token\"");
            ProblemWriter.write(response, HttpServletResponse.SC_UNAUTHORIZED, "the bearer token is not valid",
                    request.getRequestURI());
            return;
        }
        chain.doFilter(request, response);
    }
}
