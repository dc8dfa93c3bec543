package dev.loomstack.api;

import dev.loomstack.api.ApiModel.FlowPage;
import dev.loomstack.api.ApiModel.LimitsView;
import dev.loomstack.api.ApiModel.NetmapApplied;
import dev.loomstack.api.ApiModel.NetmapView;
import dev.loomstack.api.ApiModel.WhoisView;
import dev.loomstack.api.ApiModel.WireGuardView;
import dev.loomstack.packet.IpAddress;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import java.net.InetSocketAddress;
import org.springframework.http.MediaType;
import org.springframework.validation.annotation.Validated;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** The admin API: netmap, WireGuard, limits, flows and whois under {@code /api/v1}. */
@RestController
@Validated
@RequestMapping(path = "/api/v1", produces = MediaType.APPLICATION_JSON_VALUE)
@Tag(name = "admin", description = "Configure the router and look at what it forwards")
@SecurityRequirement(name = OpenApiConfiguration.BEARER)
@ApiResponse(responseCode = "401", description = "Missing or wrong bearer token",
        content = @Content(mediaType = "application/problem+json", schema = @Schema(implementation = ApiProblem.class)))
@ApiResponse(responseCode = "503", description = "The network stack is not running",
        content = @Content(mediaType = "application/problem+json", schema = @Schema(implementation = ApiProblem.class)))
public class AdminController {
    private final AdminService service;

    public AdminController(AdminService service) {
        this.service = service;
    }

    static String who(HttpServletRequest request) {
        return "admin@" + request.getRemoteAddr();
    }

    @PutMapping(path = "/netmap", consumes = MediaType.APPLICATION_JSON_VALUE)
    @Operation(summary = "Apply a network map",
            description = "Diffs against the map in force, registers and removes prefixes, persists it; "
                    + "answers with the applied map and the prefixes added and removed.")
    @ApiResponse(responseCode = "200", description = "Applied")
    @ApiResponse(responseCode = "400", description = "Malformed JSON or an invalid field (named in the problem)",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(implementation = ApiProblem.class)))
    @ApiResponse(responseCode = "413", description = "Body over the size cap",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(implementation = ApiProblem.class)))
    public NetmapApplied putNetmap(@Valid @RequestBody NetmapView body, HttpServletRequest request) {
        return service.applyNetmap(body, who(request));
    }

    @GetMapping("/netmap")
    @Operation(summary = "The network map in force")
    @ApiResponse(responseCode = "200", description = "The map")
    public NetmapView getNetmap() {
        return service.netmap();
    }

    @GetMapping("/wireguard")
    @Operation(summary = "The WireGuard link, as wg show reports it",
            description = "This router's public key and UDP port, and per configured peer: its endpoint, latest "
                    + "handshake, bytes received and sent, allowed IPs, keepalive and whether it has a pre-shared key.")
    @ApiResponse(responseCode = "200", description = "The link")
    @ApiResponse(responseCode = "409", description = "The router does not run on a WireGuard link (loomstack.link is not wireguard)",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(implementation = ApiProblem.class)))
    public WireGuardView getWireGuard() {
        return service.wireGuard();
    }

    @GetMapping("/limits")
    @Operation(summary = "The forwarding limits: in-flight TCP handshakes and open UDP flows")
    @ApiResponse(responseCode = "200", description = "The limits")
    public LimitsView getLimits() {
        return service.limits();
    }

    @PutMapping(path = "/limits", consumes = MediaType.APPLICATION_JSON_VALUE)
    @Operation(summary = "Change the forwarding limits",
            description = "Applied at once; connections already in flight and UDP flows already open are kept.")
    @ApiResponse(responseCode = "200", description = "Applied")
    @ApiResponse(responseCode = "400", description = "Malformed JSON or an invalid field (named in the problem)",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(implementation = ApiProblem.class)))
    @ApiResponse(responseCode = "413", description = "Body over the size cap",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(implementation = ApiProblem.class)))
    public LimitsView putLimits(@Valid @RequestBody LimitsView body, HttpServletRequest request) {
        return service.updateLimits(body, who(request));
    }

    @GetMapping("/flows")
    @Operation(summary = "Forwarded flows now open, oldest first, paged")
    @ApiResponse(responseCode = "200", description = "A page of flows")
    @ApiResponse(responseCode = "400", description = "page or size out of range",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(implementation = ApiProblem.class)))
    public FlowPage flows(
            @Parameter(description = "Page number, from 0") @RequestParam(defaultValue = "0") @Min(0) int page,
            @Parameter(description = "Flows per page") @RequestParam(defaultValue = "50") @Min(1)
            @Max(ApiModel.MAX_PAGE_SIZE) int size) {
        return service.flows(page, size);
    }

    @GetMapping("/whois")
    @Operation(summary = "The tailnet peer behind a backend-side local connection",
            description = "addr is the local end of a connection a forwarded flow made to a backend, as the backend sees its peer.")
    @ApiResponse(responseCode = "200", description = "The peer")
    @ApiResponse(responseCode = "400", description = "addr is not IP:PORT",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(implementation = ApiProblem.class)))
    @ApiResponse(responseCode = "404", description = "No forwarded flow uses that address",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(implementation = ApiProblem.class)))
    public WhoisView whois(@Parameter(description = "IP:PORT, IPv6 in brackets", example = "127.0.0.1:54321")
                           @RequestParam @NotBlank String addr) {
        InetSocketAddress local = parseHostPort(addr);
        return service.whois(local).orElseThrow(() -> new NotFoundException("no forwarded flow uses " + addr));
    }

    static InetSocketAddress parseHostPort(String s) {
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            throw new InvalidParameterException("addr", "must be IP:PORT (IPv6 as [addr]:port)");
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw new InvalidParameterException("addr", "IPv6 addresses need brackets: [addr]:port");
        }
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new InvalidParameterException("addr", "port must be a number");
        }
        if (port < 1 || port > 65535) {
            throw new InvalidParameterException("addr", "port must be 1-65535");
        }
        try {
            return new InetSocketAddress(IpAddress.parse(host).toInetAddress(), port);
        } catch (IllegalArgumentException e) {
            throw new InvalidParameterException("addr", "'" + host + "' is not an IP address");
        }
    }

    /** A query parameter that does not parse. */
    static final class InvalidParameterException extends RuntimeException {
        final String field;

        InvalidParameterException(String field, String message) {
            super(message);
            this.field = field;
        }
    }

    /** The link is not WireGuard, so there is no WireGuard state to report. */
    static final class NotWireGuardException extends RuntimeException {
        NotWireGuardException() {
            super("the router's link is not WireGuard (loomstack.link is not wireguard)");
        }
    }

    /** Nothing matches. */
    static final class NotFoundException extends RuntimeException {
        NotFoundException(String message) {
            super(message);
        }
    }
}
