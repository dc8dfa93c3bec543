package dev.loomstack.api;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;

/** The documented shape of an RFC 9457 problem from this API (for the OpenAPI document). */
@Schema(name = "Problem", description = "RFC 9457 problem details")
public record ApiProblem(
        @Schema(example = "about:blank") String type,
        @Schema(example = "Bad Request") String title,
        @Schema(example = "400") int status,
        @Schema(example = "selfNode.addresses[0]: '10.0.0.1/33' is not a valid IP prefix") String detail,
        @Schema(example = "/api/v1/netmap") String instance,
        @Schema(description = "Each offending field and why", nullable = true) List<FieldProblem> errors) {

    @Schema(name = "FieldProblem")
    public record FieldProblem(@Schema(example = "selfNode.addresses[0]") String field,
                               @Schema(example = "'10.0.0.1/33' is not a valid IP prefix") String message) {}
}
