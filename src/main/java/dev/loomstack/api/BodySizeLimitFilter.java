package dev.loomstack.api;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Caps request bodies: a declared length over the cap is refused at once with 413; an undeclared
 * (chunked) body is cut off when it passes the cap, which the problem handler turns into 413 too.
 */
final class BodySizeLimitFilter extends OncePerRequestFilter {
    private final long maxBytes;

    BodySizeLimitFilter(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    /** The body passed the cap while being read. */
    static final class TooLargeException extends IOException {
        TooLargeException(long max) {
            super("request body exceeds the limit of " + max + " bytes");
        }
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        long declared = request.getContentLengthLong();
        if (declared > maxBytes) {
            ProblemWriter.write(response, HttpServletResponse.SC_REQUEST_ENTITY_TOO_LARGE,
                    "request body of " + declared + " bytes exceeds the limit of " + maxBytes + " bytes",
                    request.getRequestURI());
            return;
        }
        chain.doFilter(new Capped(request, maxBytes), response);
    }

    private static final class Capped extends HttpServletRequestWrapper {
        private final long max;
        private ServletInputStream stream;

        Capped(HttpServletRequest request, long max) {
            super(request);
            this.max = max;
        }

        @Override
        public ServletInputStream getInputStream() throws IOException {
            if (stream == null) {
                ServletInputStream in = super.getInputStream();
                stream = new ServletInputStream() {
                    private long read;

                    private void count(long n) throws TooLargeException {
                        read += n;
                        if (read > max) {
                            throw new TooLargeException(max);
                        }
                    }

                    @Override
                    public int read() throws IOException {
                        int b = in.read();
                        if (b >= 0) {
                            count(1);
                        }
                        return b;
                    }

                    @Override
                    public int read(byte[] b, int off, int len) throws IOException {
                        int n = in.read(b, off, len);
                        if (n > 0) {
                            count(n);
                        }
                        return n;
                    }

                    @Override
                    public boolean isFinished() {
                        return in.isFinished();
                    }

                    @Override
                    public boolean isReady() {
                        return in.isReady();
                    }

                    @Override
                    public void setReadListener(ReadListener listener) {
                        in.setReadListener(listener);
                    }
                };
            }
            return stream;
        }
    }
}
