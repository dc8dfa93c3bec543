package dev.loomstack.api;

import dev.loomstack.api.ApiProblem.FieldProblem;
import dev.loomstack.config.StackNotRunningException;
import dev.loomstack.engine.NetworkMap;
import jakarta.validation.ConstraintViolationException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.bind.MethodArgumentNotValidException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.method.annotation.HandlerMethodValidationException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;
import tools.jackson.databind.DatabindException;

/**
 * Every error of the admin API as RFC 9457 problem details, naming the offending field in
 * {@code detail} and listing each under {@code errors}.
 */
@RestControllerAdvice(assignableTypes = AdminController.class)
public class ProblemAdvice extends ResponseEntityExceptionHandler {

    private static ProblemDetail problem(HttpStatusCode status, String detail, List<FieldProblem> errors) {
        ProblemDetail p = ProblemDetail.forStatusAndDetail(status, detail);
        if (errors != null && !errors.isEmpty()) {
            p.setProperty("errors", errors);
        }
        return p;
    }

    private static String summary(List<FieldProblem> errors) {
        return String.join("; ", errors.stream().map(e -> e.field() + ": " + e.message()).toList());
    }

    @Override
    protected ResponseEntity<Object> handleMethodArgumentNotValid(MethodArgumentNotValidException ex,
            HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        List<FieldProblem> errors = new ArrayList<>();
        ex.getBindingResult().getFieldErrors().forEach(f -> errors.add(new FieldProblem(field(f.getField()),
                f.getDefaultMessage())));
        ex.getBindingResult().getGlobalErrors().forEach(g -> errors.add(new FieldProblem(g.getObjectName(),
                g.getDefaultMessage())));
        errors.sort(Comparator.comparing(FieldProblem::field));
        return ResponseEntity.badRequest().body(problem(HttpStatus.BAD_REQUEST, summary(errors), errors));
    }

    /** {@code isPerClientWithinGlobal} reads as the field it is about. */
    private static String field(String path) {
        if (path.endsWith(".wireGuardKeyed")) {
            return path.substring(0, path.length() - "wireGuardKeyed".length()) + "publicKey";
        }
        return switch (path) {
            case "perClientWithinGlobal" -> "maxInFlightPerClient";
            case "selfAddressed" -> "selfNode.addresses";
            default -> path;
        };
    }

    @Override
    protected ResponseEntity<Object> handleHandlerMethodValidationException(HandlerMethodValidationException ex,
            HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        List<FieldProblem> errors = new ArrayList<>();
        ex.getParameterValidationResults().forEach(r -> r.getResolvableErrors().forEach(e -> errors.add(
                new FieldProblem(r.getMethodParameter().getParameterName(), e.getDefaultMessage()))));
        return ResponseEntity.badRequest().body(problem(HttpStatus.BAD_REQUEST, summary(errors), errors));
    }

    @Override
    protected ResponseEntity<Object> handleHttpMessageNotReadable(HttpMessageNotReadableException ex,
            HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof BodySizeLimitFilter.TooLargeException tooLarge) {
                return ResponseEntity.status(HttpStatus.CONTENT_TOO_LARGE)
                        .body(problem(HttpStatus.CONTENT_TOO_LARGE, tooLarge.getMessage(), null));
            }
        }
        String detail = "malformed JSON";
        List<FieldProblem> errors = null;
        if (ex.getCause() instanceof DatabindException d && !d.getPath().isEmpty()) {
            String path = pathOf(d);
            detail = "malformed JSON at " + path + ": " + d.getOriginalMessage();
            errors = List.of(new FieldProblem(path, d.getOriginalMessage()));
        } else if (ex.getCause() != null && ex.getCause().getMessage() != null) {
            detail = "malformed JSON: " + firstLine(ex.getCause().getMessage());
        }
        return ResponseEntity.badRequest().body(problem(HttpStatus.BAD_REQUEST, detail, errors));
    }

    private static String pathOf(DatabindException d) {
        StringBuilder sb = new StringBuilder();
        for (var ref : d.getPath()) {
            if (ref.getPropertyName() != null) {
                if (!sb.isEmpty()) {
                    sb.append('.');
                }
                sb.append(ref.getPropertyName());
            } else if (ref.getIndex() >= 0) {
                sb.append('[').append(ref.getIndex()).append(']');
            }
        }
        return sb.toString();
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    @ExceptionHandler(AdminController.InvalidParameterException.class)
    ResponseEntity<ProblemDetail> invalidParameter(AdminController.InvalidParameterException e) {
        List<FieldProblem> errors = List.of(new FieldProblem(e.field, e.getMessage()));
        return ResponseEntity.badRequest().body(problem(HttpStatus.BAD_REQUEST, summary(errors), errors));
    }

    @ExceptionHandler(ConstraintViolationException.class)
    ResponseEntity<ProblemDetail> constraintViolation(ConstraintViolationException e) {
        List<FieldProblem> errors = e.getConstraintViolations().stream()
                .map(v -> new FieldProblem(v.getPropertyPath().toString(), v.getMessage())).toList();
        return ResponseEntity.badRequest().body(problem(HttpStatus.BAD_REQUEST, summary(errors), errors));
    }

    @ExceptionHandler(AdminController.NotFoundException.class)
    ResponseEntity<ProblemDetail> notFound(AdminController.NotFoundException e) {
        return ResponseEntity.status(HttpStatus.NOT_FOUND).body(problem(HttpStatus.NOT_FOUND, e.getMessage(), null));
    }

    @ExceptionHandler(StackNotRunningException.class)
    ResponseEntity<ProblemDetail> notRunning(StackNotRunningException e) {
        return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
                .body(problem(HttpStatus.SERVICE_UNAVAILABLE, e.getMessage(), null));
    }

    /** A netmap the engine refuses (a duplicate key, an endpoint that does not resolve, a missing pre-shared key file). */
    @ExceptionHandler(NetworkMap.InvalidException.class)
    ResponseEntity<ProblemDetail> invalidNetmap(NetworkMap.InvalidException e) {
        List<FieldProblem> errors = List.of(new FieldProblem(e.field(), e.reason()));
        return ResponseEntity.badRequest().body(problem(HttpStatus.BAD_REQUEST, summary(errors), errors));
    }

    @ExceptionHandler(AdminController.NotWireGuardException.class)
    ResponseEntity<ProblemDetail> notWireGuard(AdminController.NotWireGuardException e) {
        return ResponseEntity.status(HttpStatus.CONFLICT).body(problem(HttpStatus.CONFLICT, e.getMessage(), null));
    }

    @ExceptionHandler(IllegalArgumentException.class)
    ResponseEntity<ProblemDetail> invalid(IllegalArgumentException e) {
        return ResponseEntity.badRequest().body(problem(HttpStatus.BAD_REQUEST, e.getMessage(), null));
    }
}
